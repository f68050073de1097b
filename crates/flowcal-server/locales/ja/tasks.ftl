# tasks
# 自分のタスク、タスクのページ(データ入力フォーム、カレンダーのボタン)、プロセスの開始。

## 自分のタスク
tasks-title = 自分のタスク
tasks-filter-show = 表示
tasks-show-all = すべて
tasks-show-overdue = 期限切れ
tasks-show-week = 今週が期限
tasks-show-mine = 自分の担当
tasks-show-claimable = 担当可能
tasks-filter-process = プロセス
tasks-filter-all-processes = すべてのプロセス
tasks-filter-sort = 並べ替え
tasks-sort-deadline = 期限順
tasks-sort-created = 新しい順
tasks-filter-submit = 絞り込む
tasks-empty = ここに未完了のタスクはありません。
tasks-count = 未完了のタスク { $total } 件中 { $first }–{ $last } 件
tasks-thousands-separator = ,
tasks-table-caption = 未完了のタスク
tasks-col-task = タスク
tasks-col-process = プロセス
tasks-col-deadline = 期限
tasks-col-assigned = 担当者
tasks-counted-in = { $calendar } で計算
tasks-no-deadline = なし
tasks-assigned-you = あなた
tasks-assigned-role = ロール { $role }
tasks-pages = タスクのページ
tasks-first-page = 最初のページ
tasks-next-page = 次のページ

## タスクのページ
tasks-fact-state = 状態
tasks-state-open = 未完了
tasks-state-done = 完了
tasks-state-cancelled = 取り消し
tasks-fact-assigned = 担当者
tasks-not-assigned = 未割り当て: ロール { $role }
tasks-fact-deadline = 期限
tasks-claim = このタスクを担当する
tasks-data = データ
tasks-complete = タスクを完了する
tasks-claim-first = データを入力して完了するには、まずこのタスクを担当してください。
tasks-error-number = 数値を入力してください
tasks-error-date-time = 日付と時刻を入力してください
tasks-notice-claimed = このタスクの担当者になりました
tasks-notice-completed = 完了しました: { $task }
tasks-notice-started = 開始しました
tasks-notice-started-title = 開始しました: { $title }

## 各日付の横にあるカレンダーのボタン。{ $what } は「期限」またはデータ項目の名前です。
## ボタンのアクセシブルな名前(…-label)は、表示されるテキストで始めてください。
tasks-cal-the-deadline = 期限
tasks-cal-moved = ↔ カレンダーで移動されました
tasks-cal-moved-to = 移動先: { $date }
tasks-cal-synced = ✓ カレンダーに登録済み
tasks-cal-open-event = 予定を開く
tasks-cal-pending = ⏳ 処理待ち
tasks-cal-removing = ⏳ 削除中
tasks-cal-failed = ✗ 失敗
tasks-cal-reconnect-needed = ⚠ 再接続が必要です
tasks-cal-reconnect = 再接続
tasks-cal-removed-there = カレンダーで削除されました
tasks-cal-not-in = カレンダー未登録
tasks-cal-retry = 再試行
tasks-cal-add-again = 再登録
tasks-cal-add-again-label = 再登録(カレンダー): { $what }
tasks-cal-use-date = この日付を使う
tasks-cal-use-date-label = この日付を使う: { $what }(カレンダーで移動された日付)
tasks-cal-keep = 変更しない
tasks-cal-keep-label = 変更しない: { $what } はそのままにして、予定を元の日時に戻します
tasks-cal-remove = カレンダーから削除
tasks-cal-remove-label = カレンダーから削除: { $what }
tasks-cal-add = カレンダーに追加
tasks-cal-add-label = カレンダーに追加: { $what }
tasks-cal-add-at = カレンダーに追加({ $provider })
tasks-cal-add-connect-label = { $caption }: { $what }({ $provider } に接続)
tasks-cal-connect-before = 日付を追加するには、
tasks-cal-connect = カレンダーを接続
tasks-cal-connect-after = してください。
tasks-cal-account-label = { $what } のカレンダーアカウント
tasks-cal-off-before = カレンダーに追加するには、
tasks-cal-off-settings = 設定
tasks-cal-off-after = でカレンダーへのエクスポートをオンにしてください。
tasks-cal-off-admin = このアカウントでは、管理者がカレンダーへのエクスポートを許可していません。
tasks-cal-off-unavailable = 現在カレンダーへのエクスポートを利用できません。ページを再読み込みしてもう一度お試しください。
tasks-cal-notice-removing = カレンダーから削除しています
tasks-cal-notice-retrying = もう一度送信しています
tasks-cal-notice-accepted = カレンダーの日付を使います
tasks-cal-notice-kept = 日付はそのままにして、予定を元に戻しています
tasks-cal-notice-adding = カレンダーに追加しています
tasks-cal-which-export = どのエクスポートですか?
tasks-cal-bad-source = source は「deadline」または「item:KEY」である必要があります
tasks-cal-cannot-export = このソースはエクスポートできません
tasks-cal-choose-account = カレンダーアカウントを選択してください
tasks-cal-unknown-action = 不明なカレンダー操作です

## プロセスの開始
tasks-start-title = プロセスを開始
tasks-start-empty = プロセスモデルはまだありません。
tasks-start-version = バージョン { $version }
tasks-start-field-title = タイトル
tasks-start-submit = 開始

## タスクのページ(とモデルのページ)の図
tasks-diagram-heading = プロセス内でのこのタスクの位置
tasks-diagram-laid-out = このファイルには図がないため、flowcal がステップを左から右へ並べました。
tasks-diagram-none = 図はありません: { $why }
tasks-diagram-current = 枠: このタスクのステップ —
tasks-diagram-open = 破線: 同じく未完了: { $steps }
tasks-diagram-done-none = チェック: 完了(まだありません)
tasks-diagram-done = チェック: 完了: { $steps }
tasks-diagram-hover = ステップにポインターを合わせると期限のルールが表示されます。
tasks-diagram-list-separator = 、

tasks-diagram-title = {"{"}name{"}"} の図
tasks-diagram-title-laid-out = {"{"}name{"}"} の図(ファイルに図がないため flowcal が配置)
tasks-diagram-word-deadline = 期限
tasks-diagram-word-current = 現在のステップ
tasks-diagram-word-open = 未完了
tasks-diagram-word-done = 完了
