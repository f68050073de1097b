# models: the process models (/models): the list, the upload form and its refusals, a model's page.
models-title = プロセスモデル
models-forbidden = モデルは管理者と designers ロールのメンバーのみが利用できます。
models-upload-heading = BPMN モデルをアップロード
models-file = BPMN 2.0 ファイル
models-upload-hint = 既存のモデルと同じプロセス ID のモデルは、その次のバージョンになります。
models-upload = アップロード
models-list-caption = モデル (最新バージョン)
models-name = 名前
models-process-id = プロセス ID
models-version = バージョン
# { $error } is what went wrong, as the server says it.
models-upload-failed = アップロードに失敗しました: { $error }
models-choose-file = アップロードする BPMN ファイルを選択してください。
# max_model_bytes is the setting's name in the configuration file: keep it.
models-too-large = ファイルが上限の { $limit } バイト (max_model_bytes) を超えています。
models-uploaded = { $name } をアップロードしました (バージョン { $version })
# { $error } is why the model was refused (with its line and column), as the server says it.
models-refused = モデルは受け付けられませんでした: { $error }

## A model's page.
models-diagram-legend = 時計の付いたステップには期限のルールがあります。ステップにポインターを合わせるか、「ステップ」の表で確認してください。
models-time-zone = タイムゾーン
models-server-zone = { $zone } (サーバーの設定)
models-diagram = 図
models-steps = ステップ
models-step = ステップ
models-id = ID
models-deadline = 期限
models-no-deadline = なし
models-timers = タイマー
models-timer = タイマー
models-where = 場所
models-fires = 発火
models-timer-start = インスタンスを開始
# { $step } is the id of the step the timer is on.
models-timer-cancels = { $step } に付き、そのステップを取り消します
models-timer-stays = { $step } に付き、そのステップは開いたままです
models-timer-waits = 経路が待機します
models-data-items = データ項目
models-label = ラベル
models-key = キー
models-type = 型
models-required = 必須
models-yes = はい
models-no = いいえ
models-versions = バージョン
models-version-item = バージョン { $version } — { $name }
