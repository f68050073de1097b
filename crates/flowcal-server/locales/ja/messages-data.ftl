# flowcal のサービスが書き出すメッセージ。ページでは読み手の言語で表示されます。
# 英語のテキストを書かれたとおりに照合し、$変数にはそこから値が入ります。

data-value = { $key }: { $message }
data-is-outside-the-dates-flowcal-accepts = 「{ $s }」は flowcal が受け付ける日付の範囲外です ({ $EARLIEST_DATE } から { $LATEST_DATE } まで)
data-a-value-is-required = 値が必要です
data-expected-a-string = 文字列が必要です
data-longer-than-bytes = { $MAX_TEXT } バイトを超えています
data-a-single-line-is-expected-use = 1 行で入力してください (複数行には text 型のデータ項目を使ってください)
data-is-not-one-of = 「{ $s }」は次のいずれでもありません: { $arg1 }
data-expected-a-number = 数値が必要です
data-expected-a-finite-number = 有限の数値が必要です
data-expected-true-or-false = true または false が必要です
data-expected-a-date-yyyy-mm-dd = "YYYY-MM-DD" 形式の日付が必要です
data-is-not-a-date-write-yyyy = 「{ $s }」は日付ではありません。YYYY-MM-DD の形式で書いてください
data-expected-an-rfc-3339-date-time = RFC 3339 形式の日時が必要です
data-is-not-a-date-time-with = 「{ $s }」は UTC オフセット (-23:59 から +23:59) 付きの日時ではありません。2026-03-28T09:30:00+01:00 のように書いてください
data-expected-a-user-s-login = ユーザーのログイン名が必要です
data-this-process-has-no-such-data = このプロセスにはそのようなデータ項目はありません
data-the-instance-is-not-running = インスタンスは実行中ではありません (状態: { $arg1 })
data-task-is-not-open = タスク { $arg0 } は未完了ではありません
data-the-model-s-time-zone-is = モデルのタイムゾーンを使用できません: { $arg0 }
data-the-model-has-no-start-event = モデルに開始イベントがありません
data-the-instance-has-no-incident-to = このインスタンスには再試行するインシデントがありません
data-timer-is-not-waiting = タイマー { $arg0 } は待機中ではありません
data-the-deadline-falls-outside-the-supported = 期限がサポートされている日付の範囲外になります
data-data-item-holds-neither-a-date = データ項目「{ $arg0 }」には日付も日時も入っていません
data-the-work-calendar-has-no-working = 稼働日カレンダーには、その方向に稼働時間がありません
data-months-and-years-cannot-be-counted = 月と年は稼働時間では数えられません。日 (P20D) または週 (P4W) で書いてください
data-is-not-a-weekday-write-mon = 「{ $arg0 }」は曜日ではありません。mon、tue、wed、thu、fri、sat、sun のいずれかを書いてください
data-the-weekday-is-listed-twice-in = 曜日「{ $arg0 }」が稼働曜日に 2 回含まれています。各曜日は 1 回だけ指定してください
data-is-not-a-period-of-working = 「{ $text }」は稼働時間の時間帯ではありません ({ $reason })。09:00-12:00 のように書いてください
data-the-working-hours-and-overlap-or = { $place }稼働時間 { $first } と { $second } が重なっているか、順序が正しくありません。早い時間帯から順に書いてください (例: 09:00-12:00, 13:00-17:00)
data-the-holiday-on-has-an-empty = { $arg0 } の祝日の稼働時間のリストが空です。時間帯を 1 つ以上指定するか、休業日にするなら稼働時間を省略してください
data-has-periods-of-working-hours-at = { $what }に稼働時間の時間帯が { $count } 個あります。指定できるのは最大 { $MAX_PERIODS } 個です
data-is-not-a-valid-work-calendar = 「{ $arg0 }」は稼働日カレンダーの名前として使えません。a-z、0-9、'-' の 1～64 文字で、先頭と末尾は英字か数字にしてください (例: de-berlin)
data-is-not-a-known-iana-time = 「{ $arg0 }」は既知の IANA タイムゾーンではありません (例: Europe/Berlin、America/New_York)
data-the-calendar-lists-at-most-are = カレンダーに { $what } が { $count } 件あります。指定できるのは最大 { $MAX_DATES } 件です。過去の年を削除してください
data-is-listed-twice-as-list-each = { $date } が { $what } として 2 回含まれています。各日付は 1 回だけ指定してください
data-is-both-a-holiday-and-an = { $arg0 } は祝日と追加の稼働日の両方になっています。どちらかを削除してください (稼働時間のある祝日は短縮された稼働日になります)
data-the-name-of-is-too-long = { $date } の名前が長すぎるか、制御文字を含んでいます。{ $MAX_DAY_NAME } 文字以内のテキストにしてください
data-is-not-a-roll-write-forward = 「{ $arg0 }」は繰り越しの方向ではありません。forward または backward を書いてください
data-its-times-must-be-whole-minutes = 時刻は分単位で指定する必要があります
data-it-must-end-after-it-starts = 開始より後、同じ日のうちに終わる必要があります
data-the-holiday-on = { $date } の祝日
data-the-working-day = 稼働日
data-of-the-holiday-on = { $date } の祝日の{" "}
data-is-not-an-iso-8601-duration = 「{ $text }」は ISO 8601 の期間ではありません ({ $reason })。P3D、PT4H、P1DT12H、-P1D のように書いてください
data-item = データ項目「{ $v }」
data-the-number = 数値 { $n }
data-the-string = 文字列 "{ $s }"
data-a-condition-in-parentheses = 括弧内の条件
data-unsupported-syntax-at-character = 「{ $snippet }」(文字位置 { $arg1 }) はサポートされていない構文です: { $HINT }
data-the-condition-has-a-that-is = 条件「{ $arg1 }」に閉じられていない '(' があります
data-is-a-item = 「{ $arg1 }」は { $arg2 } 型のデータ項目です
data-it-cannot-be-compared-with = { $arg1 }。{ $arg2 } とは比較できません: { $hint }
data-it-can-only-be-compared-with = { $arg1 }。比較には == または != だけが使え、{ $arg2 } は使えません
data-and-is-not-one-of-its = { $arg1 }が、"{ $s }" はその選択肢 ({ $arg2 }) にありません
data-so-it-cannot-be-a-condition = { $arg1 }。そのため単独では条件になりません。== != < <= > または >= で比較してください
data-and-is-a-item-they-cannot = { $arg1 }が、「{ $arg2 }」は { $arg3 } 型のデータ項目です。この 2 つは比較できません
data-and-are-boolean-items-they-can = 「{ $arg1 }」と「{ $arg2 }」は boolean 型のデータ項目です。比較には == または != だけが使え、{ $arg3 } は使えません
data-is-not-a-valid-login-use = 「{ $arg0 }」は有効なログイン名ではありません。a-z、0-9、'.'、'_'、'-' の 1～64 文字で、先頭は英字か数字にしてください
data-is-not-name-value-deleted-respect = 「{ $part }」は name=value の形式ではありません (deleted=respect|restore, moved=propose|accept|revert)
data-deleted-an-entry-deleted-in-the = deleted={ $value }: カレンダーで削除された予定には respect (尊重) または restore (復元) を指定します
data-moved-a-move-in-the-calendar = moved={ $value }: カレンダーでの移動には propose (提案)、accept (受け入れ)、revert (元に戻す) のいずれかを指定します
data-is-given-twice = 「{ $name }」が 2 回指定されています
data-is-not-a-calendar-edit-there = 「{ $other }」はカレンダーでの変更の種類ではありません。指定できるのは「deleted」と「moved」です
data-the-process-loops-here-without-reaching = プロセスがここでタスクに到達せずにループしています
data-a-second-path-reached-sub-process = サブプロセス「{ $id }」の実行中に 2 本目の経路が到達しました。flowcal はサブプロセスのインスタンスを一度に 1 つしか実行しません。実行中のものが終わってから再試行するか、モデルでサブプロセスの前に経路を合流させてください
data-sub-process-has-no-start-event = サブプロセス「{ $id }」に開始イベントがありません。モデルを修正してください
data-timer-waits-until-the-date-in = タイマー「{ $id }」はデータ項目「{ $key }」の日付まで待機しますが、その値が空です。値を設定して再試行してください
data-timer-cannot-count-from-data-item = タイマー「{ $id }」はデータ項目「{ $key }」から数えられません。その値から flowcal がサポートする日付が得られません。値を修正して再試行してください
data-timer-has-no-time-left-at = タイマー「{ $id }」が発火する時刻はもう残っていません。モデルを修正するか、インスタンスを取り消してください
data-parallel-join-waits-for-flow-but = 並列合流「{ $node }」はフロー { $arg1 } を待っていますが、そこへ至る分岐はどれも実行中ではありません
data-the-condition-ends-too-early-a = 条件「{ $arg1 }」が途中で終わっています。末尾に値がありません
data-the-condition-is-nested-more-than = 条件の入れ子が { $MAX_DEPTH } 段を超えています
data-the-string-starting-at-character-is = { $arg1 } 文字目から始まる文字列が閉じられていません。{ $quote } で閉じてください
data-character-is-not-a-condition-on = { $what }（{ $at } 文字目）だけでは条件になりません。データ項目と比較してください（例: amount > 5 や status == "done"）
data-no-condition-of-gateway-holds-and = ゲートウェイ「{ $arg1 }」の条件がどれも成り立たず（{ $arg2 }）、デフォルトフローもありません。データを修正して再試行してください
data-compare-it-with-a-number = 数値と比較してください（例: > 5）
data-compare-it-with-true-or-false = true または false と比較してください
data-compare-it-with-a-string = 引用符で囲んだ文字列と比較してください（例: == "done"）
data-compare-it-with-a-date = "YYYY-MM-DD" 形式の日付と比較してください（例: >= "2026-03-28"）
data-compare-it-with-a-date-time = UTC オフセット付きの RFC 3339 日時と比較してください（例: < "2026-03-28T09:30:00+01:00"）
