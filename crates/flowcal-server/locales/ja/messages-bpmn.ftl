# flowcal のサービスが書き出すメッセージ。ページでは読み手の言語で表示されます。
# 英語のテキストを書かれたとおりに照合し、$変数にはそこから値が入ります。

bpmn-the-process-s-top-level = プロセスの最上位
bpmn-sub-process = サブプロセス「{ $s }」
bpmn-sequence-flow-which-is-not-a = シーケンスフロー「{ $arg1 }」({ $verb }「{ $end }」) の「{ $end }」は、このプロセスのノードではありません
bpmn-sequence-flow-is-in-but-in = シーケンスフロー「{ $arg1 }」は { $arg2 } にありますが、{ $arg3 } ({ $verb }) は { $arg4 } にあります。シーケンスフローはサブプロセスの境界を越えられません。サブプロセス自体に接続し、その内部の経路はサブプロセス自身の開始イベントで始めて終了イベントで終えてください
bpmn-the-start-event = 開始イベント
bpmn-the-start-event-of-sub-process = サブプロセス「{ $s }」の開始イベント
bpmn-cannot-be-reached-from = { $arg1 } には { $from } から到達できません
bpmn-is-on-a-loop-that-passes = { $arg1 } は、ユーザータスクもタイマーイベントも通らないループ上にあります。トークンがそこを永久に回り続けてしまいます
bpmn-flow-condition = フロー「{ $arg1 }」: 条件「{ $arg2 }」: { $arg3 }
bpmn-the-process = プロセス
bpmn-has-no-start-event-bpmn-startevent = { $whose } に開始イベント{ $inside } (bpmn:startEvent) がありません{ $collapsed }
bpmn-has-a-second-start-event-the = { $whose } に 2 つ目の開始イベント「{ $arg1 }」があります (1 つ目は「{ $arg2 }」)。flowcal は { $arg3 } を必ず 1 つの開始イベントから開始します
bpmn-has-no-end-event-bpmn-endevent = { $whose } に終了イベント{ $inside } (bpmn:endEvent) がありません
bpmn-is-attached-to-which-is-not = { $this } は「{ $attached_to }」にアタッチされていますが、これはこのプロセスのノードではありません
bpmn-is-attached-to-flowcal-runs-boundary = { $this } は { $arg1 } にアタッチされています。flowcal が境界タイマーを実行するのはユーザータスク上だけです{ $hint }
bpmn-is-in-but-its-task-is = { $this } は { $arg1 } にありますが、そのタスク { $arg2 } は { $arg3 } にあります。境界イベントはタスクと同じ階層に書いてください
bpmn-has-flowcal-deadlinetimer-true-but-its = { $this } には flowcal:deadlineTimer="true" がありますが、そのタスク { $arg1 } には期限がありません。タスクに flowcal:deadline か flowcal:deadlineFrom を指定するか、flowcal:deadlineTimer を削除してください
bpmn-flow-has-a-condition-but-it = フロー「{ $arg1 }」には条件がありますが、{ $this } から出ています。flowcal が条件をサポートするのは、排他ゲートウェイから出るフローだけです
bpmn-has-no-outgoing-flow-every-path = { $this } には出力フローがありません。すべての経路は終了イベントに至る必要があります
bpmn-has-an-incoming-flow-nothing-can = { $this } に入力フローがあります ({ $arg1 })。開始に戻るフローは使えません
bpmn-has-outgoing-flows-it-needs-exactly = { $this } に出力フローが { $arg1 } 本あります ({ $arg2 })。出力フローはちょうど 1 本必要です (複数の分岐を始めるには並列ゲートウェイを使ってください)
bpmn-has-an-outgoing-flow-an-end = { $this } に出力フローがあります ({ $arg1 })。終了イベントはその経路を終わらせるものです
bpmn-has-an-incoming-flow-a-boundary = { $this } に入力フローがあります ({ $arg1 })。境界イベントはタイマーの発火時に経路を開始するため、そこへ至るフローは使えません
bpmn-has-outgoing-flows-a-boundary-timer = { $this } に出力フローが { $arg1 } 本あります ({ $arg2 })。境界タイマーの出力フローはちょうど 1 本です。並列ゲートウェイ (すべての経路) か排他ゲートウェイ (1 つの経路) で分岐してください
bpmn-has-no-incoming-flow-so-it = { $this } には入力フローがないため、到達できません
bpmn-has-outgoing-flows-has-exactly-one = { $this } に出力フローが { $arg1 } 本あります ({ $arg2 })。{ $step } の出力フローはちょうど 1 本です。並列ゲートウェイ (すべての経路) か排他ゲートウェイ (1 つの経路) で分岐してください
bpmn-its-default-flow-is-not-one = { $this }: デフォルトフロー「{ $default }」が、出力フロー ({ $arg1 }) のいずれでもありません
bpmn-flow-is-the-default-flow-of = フロー「{ $arg1 }」は { $this } のデフォルトフローなので、条件を持てません。デフォルトフローは、ほかのどの条件も成り立たないときに使われます
bpmn-has-outgoing-flows-without-conditions-and = { $this } には条件のない出力フローがあり、デフォルトフローもありません。各出力フローにデータ項目を使った conditionExpression を指定するか、いずれか 1 つをゲートウェイのデフォルトフローにしてください
bpmn-flow-leaves-without-a-condition-and = フロー「{ $arg1 }」は条件なしで { $this } から出ており、ゲートウェイのデフォルトフローでもありません。conditionExpression を指定するか、デフォルトフローにしてください
bpmn-flow-uses-in-conflicting-ways = フロー「{ $arg1 }」は「{ $var }」を矛盾する形で使っています
bpmn-uses-both-as-a-and-as = 「{ $var }」を { $arg1 } としても { $arg2 } としても使っています
bpmn-uses-as-a-but-flow-uses = 「{ $var }」を { $arg1 } として使っていますが、フロー「{ $seen_in }」は { $arg2 } として使っています
bpmn-flow-condition-declare-it-with-flowcal = フロー「{ $arg1 }」: 条件「{ $arg2 }」は{ $how }。<flowcal:dataItem key="{ $var }" type="…"/> で宣言し、その型の値と比較してください
bpmn-bpmn-subprocess-triggeredbyevent-true = bpmn:subProcess triggeredByEvent="true"
bpmn-is-not-supported = { $arg1 } はサポートされていません ({ $SUPPORTED })
bpmn-elements-are-not-supported = { $arg1 } 個の要素はサポートされていません: { $named } ({ $SUPPORTED })
bpmn-flowcal-dataitem-belongs-directly-in-the = flowcal:dataItem はプロセスの bpmn:extensionElements の直下に置いてください
bpmn-flowcal-is-not-a-flowcal-element = flowcal:{ $local } は flowcal の要素ではありません (flowcal が読むのは、プロセスの bpmn:extensionElements 内の flowcal:dataItem です)
bpmn-flowcal-deadlinetimer-has-no-meaning-on = flowcal:deadlineTimer は bpmn:{ $local } では意味を持ちません。タスクの期限から数えるのは、ユーザータスク上の境界タイマーだけです
bpmn-flowcal-has-no-meaning-on-bpmn = flowcal:{ $name } は bpmn:{ $local } では意味を持ちません。{ $WHERE_FLOWCAL_ATTRIBUTES_GO }
bpmn-bpmn-has-an-unknown-attribute-flowcal = bpmn:{ $local } に不明な属性 flowcal:{ $name } があります。使える属性は { $list } です
bpmn-flowcal-deadlinetimer-is-neither-true-nor = { $this }: flowcal:deadlineTimer="{ $other }" は "true" でも "false" でもありません
bpmn-flowcal-timeroffset = { $this }: flowcal:timerOffset の { $e }
bpmn-has-a-timer-without-timeduration-timedate = { $this } のタイマーには timeDuration、timeDate、timeCycle のいずれもありません。いずれか 1 つを指定してください (例: <bpmn:timeDuration>PT2H</bpmn:timeDuration>{ $deadline })
bpmn-has-both-and-a-timer-has = { $this } に { $arg1 } と { $arg2 } の両方があります。タイマーに指定できるのは timeDuration、timeDate、timeCycle のうち 1 つだけです
bpmn-its-is-empty = { $local } が空です。{ $arg1 }
bpmn-timedate = timeDate: { $m }
bpmn-write-an-iso-8601-duration-such = PT2H や P3D のような ISO 8601 の期間を書いてください
bpmn-flowcal-timeroffset-moves-a-date-read = { $this }: flowcal:timerOffset はデータ項目から読んだ日付をずらすものですが、このタイマーの日付はデータ項目から読むものではありません。flowcal:timerOffset を削除するか、timeDate で date 型または datetime 型のデータ項目を指定してください
bpmn-a-start-timer-cannot-read-a = { $this }: 開始タイマーはデータ項目を読めません。発火する前にはインスタンスもデータもないためです。日付か期間を指定してください
bpmn-a-timedate-is-a-date-of = timeDate はそれ自体が日付を表します
bpmn-a-timecycle-with-a-start-begins = START のある timeCycle はその START から始まります
bpmn-has-flowcal-deadlinetimer-true-which-counts = { $this } には flowcal:deadlineTimer="true" があり、タスクの期限から数えますが、{ $why }。timeDuration、START のない timeCycle、または定義なし (期限の時点) を使ってください
bpmn-is-negative-a-timer-counts-forward = { $what }「{ $text }」が負の値です。タイマーは開始した時点から先へ数えます
bpmn-has-a-time-zone-annotation-which = 「{ $text }」にはタイムゾーン注釈がありますが、flowcal はこれを読みません。オフセットを指定するか、モデルのタイムゾーンを使う場合はオフセットを省いてください
bpmn-is-neither-a-date-nor-a = 「{ $text }」は日付でもデータ項目でもありません。{ $DATES }
bpmn-names-item-which-is-a-item = データ項目「{ $key }」を指定していますが、これは { $arg1 } 型の項目です。タイマーの日付は date 型または datetime 型の項目から取ります
bpmn-is-a-duration-not-a-date = 「{ $text }」は期間であり、日付ではありません。一定時間後に発火するタイマーには timeDuration を使ってください
bpmn-names-item-but-there-is-no = データ項目「{ $key }」を指定していますが、そのような項目はありません。プロセスの extensionElements で <flowcal:dataItem key="{ $key }" type="datetime"/> (または type="date") として宣言してください
bpmn-timecycle-is-not-supported = timeCycle「{ $text }」はサポートされていません: { $why }。{ $CYCLES }
bpmn-is-not-r-or-rn-with = 「{ $arg1 }」は R でも、数値 n を伴う Rn でもありません
bpmn-timecycle-start = timeCycle START: { $m }
bpmn-timecycle-repeats-every-which-would-fire = timeCycle「{ $text }」は { $every } ごとに繰り返すため、一度に際限なく発火してしまいます
bpmn-lane-name-cannot-be-a-role = レーン名「{ $role }」はロールにできません。レーンには 1～64 文字の名前を付けてください
bpmn-task = タスク「{ $id }」: { $m }
bpmn-flowcal-assignee = flowcal:assignee: { $e }
bpmn-flowcal-assignee-names-item-but-there = flowcal:assignee がデータ項目「{ $key }」を指定していますが、そのような項目はありません。<flowcal:dataItem key="{ $key }" type="user"/> として宣言してください
bpmn-flowcal-assignee-names-item-which-is = flowcal:assignee が指定するデータ項目「{ $key }」は { $arg1 } 型の項目で、user 型の項目ではありません
bpmn-flowcal-assignee-is-not-understood-write = flowcal:assignee「{ $text }」を解釈できません。starter、user:LOGIN、item:KEY のいずれかを書いてください
bpmn-task-bpmn-is-an-expression-which = タスク「{ $id }」: bpmn:{ $role }「{ $text }」は式ですが、flowcal は式を評価しません。user(LOGIN)、group(ROLE) または名前を書くか、データで指定するユーザーには flowcal:assignee="item:KEY" を使ってください
bpmn-task-bpmn-names-the-resource-which = タスク「{ $id }」: bpmn:{ $role } がリソース「{ $reference }」を指定していますが、このファイルでは宣言されていません (bpmn:resource)
bpmn-task-has-several-candidates-flowcal-gives = タスク「{ $id }」に複数の候補があります ({ $arg1 })。flowcal はタスクを 1 人のユーザーか 1 つのロールに割り当てます。候補を 1 つだけ残す (ロールのメンバーはだれでもタスクの担当者になれます) か、タスクをレーンに配置してください
bpmn-task-bpmn = タスク「{ $id }」: bpmn:{ $arg1 } が{ $m }
bpmn-names-the-role-which-cannot-be = ロール「{ $name }」を指定していますが、これはロールにできません。1～64 文字にしてください
bpmn-names-the-user-write-group-role = ユーザー「{ $login }」を指定しています: { $e }。ロールには group(ROLE) と書いてください
bpmn-flowcal-workcalendar-is-not-a-work = { $on }: flowcal:workCalendar「{ $name }」は稼働日カレンダーの名前として使えません。a-z、0-9、'-' の 1～64 文字で、先頭と末尾は英字か数字にしてください (例: de-berlin)
bpmn-lane = レーン「{ $lane_id }」
bpmn-task-2 = タスク「{ $id }」
bpmn-flowcal-deadlineroll = flowcal:deadlineRoll: { $e }
bpmn-flowcal-deadlineroll-says-where-a-deadline = flowcal:deadlineRoll は休日に当たる期限をどちらへずらすかを指定しますが、このタスクには稼働日カレンダーがありません。タスク、そのレーン、またはプロセスに flowcal:workCalendar を指定してください
bpmn-counts-months-or-years-which-a = { $what }「{ $d }」は月または年で数えていますが、稼働日カレンダーは月や年を稼働日で数えられません。日 (P20D) または週 (P4W) で書いてください
bpmn-current-step = 現在のステップ
bpmn-the-file-is-not-readable-xml = ファイルを XML として読み取れません: { $e }
bpmn-has-no = { $what } に { $name } がありません
bpmn-has-not-a-number = { $what } の { $name }="{ $arg1 }" は数値ではありません
bpmn-has-outside-the-flowcal-draws = { $what } の { $name }="{ $arg1 }" は、flowcal が描画する ±{ $MAX_COORD } の範囲外です
bpmn-has-a-negative-width-or-height = { $what } の幅または高さが負の値です
bpmn-the-drawing-of = 「{ $arg1 }」の描画
bpmn-the-diagram-has-more-than-shapes = 図の図形が { $MAX_SHAPES } 個を超えており、flowcal が描画できる数を超えています
bpmn-the-diagram-has-more-than-edges = 図のエッジが { $MAX_EDGES } 本を超えており、flowcal が描画できる数を超えています
bpmn-the-diagram-s-edges-have-more = 図のエッジのウェイポイントが { $MAX_WAYPOINTS } 個を超えており、flowcal が描画できる数を超えています
bpmn-the-process-has-more-than-steps = プロセスのステップが { $MAX_SHAPES } 個を超えており、flowcal が描画できる数を超えています
bpmn-the-process-has-more-than-flows = プロセスのフローが { $MAX_EDGES } 本を超えており、flowcal が描画できる数を超えています
bpmn-the-diagram-would-be-more-than = 図の描画データが { $arg1 } MB を超えてしまい、flowcal が表示できる量を超えています
bpmn-the-document-has-bytes-more-than = ドキュメントは { $size } バイトあり、上限の { $limit } を超えています
bpmn-elements-are-nested-deeper-than-the = 要素の入れ子が上限の { $limit } 階層を超えています
bpmn-an-element-has-more-attributes-than = 属性の数が上限の { $limit } を超える要素があります
bpmn-more-xml-namespace-declarations-are-in = 1 つの要素で有効な XML 名前空間宣言の数が上限の { $limit } を超えています
bpmn-the-document-declares-more-xml-namespaces = ドキュメントで宣言された XML 名前空間の数が上限の { $limit } を超えています
bpmn-the-document-has-more-xml-nodes = ドキュメントの XML ノードの数が上限の { $limit } を超えています
bpmn-the-document-has-a-document-type = ドキュメントに文書型宣言 (<!DOCTYPE …>) がありますが、flowcal はこれを受け付けません
bpmn-not-well-formed-xml = 整形式の XML ではありません: { $message }
bpmn-reading-the-xml-failed-unexpectedly = XML の読み込みが予期せず失敗しました
bpmn-reading-the-xml-took-longer-than = XML の読み込みに { $arg1 } 秒以上かかりました
bpmn-it-looks-like-a-cron-expression = cron 式のように見えますが、flowcal は cron 式を読みません
bpmn-it-does-not-start-with-r = R または Rn で始まっていません
bpmn-a-cycle-with-an-end-is = 終わりのあるサイクル (R/PERIOD/END) はサポートされていません
bpmn-it-has-too-many-or-too = 部分が多すぎるか少なすぎます
bpmn-named-step = { $word }「{ $id }」({ $name })
bpmn-step = { $word }「{ $id }」
bpmn-start-event = 開始イベント
bpmn-end-event = 終了イベント
bpmn-user-task = ユーザータスク
bpmn-exclusive-gateway = 排他ゲートウェイ
bpmn-parallel-gateway = 並列ゲートウェイ
bpmn-terminate-end-event = 停止終了イベント
bpmn-intermediate-event = 中間イベント
bpmn-timer-event = タイマーイベント
bpmn-boundary-timer = 境界タイマー
