# すべてのページで使う語。
language-name = 日本語
skip-to-content = 本文へ移動
nav-main = メイン
nav-my-tasks = 自分のタスク
nav-start = プロセスを開始
nav-models = モデル
nav-calendar = カレンダー
nav-team = チーム
nav-work-calendars = 稼働日カレンダー
nav-settings = 設定
nav-admin = 管理
sign-out = サインアウト
overdue = 期限切れ
due-soon = 期限間近

# 日付は { $year }年{ $month-number }月{ $day }日({ $weekday }) の順。
date-long = { $year }年{ $month-number }月{ $day }日({ $weekday })
date-time = { $date } { $time }
weekday-1 = 月
weekday-2 = 火
weekday-3 = 水
weekday-4 = 木
weekday-5 = 金
weekday-6 = 土
weekday-7 = 日
month-1 = 1月
month-2 = 2月
month-3 = 3月
month-4 = 4月
month-5 = 5月
month-6 = 6月
month-7 = 7月
month-8 = 8月
month-9 = 9月
month-10 = 10月
month-11 = 11月
month-12 = 12月

entry-done = ✓ 完了: { $step }
entry-process = プロセス
entry-open = flowcal で開く

rule-from = { $item } から
rule-from-offset = { $item } から { $offset }
rule-on = { $item } 当日
rule-before = { $item } の { $amount } 前
rule-after = { $item } の { $amount } 後
rule-in-calendar = { $rule }(カレンダー { $calendar })
rule-working-weeks = { $n } 稼働週
rule-working-days = { $n } 稼働日
rule-working-hours = { $n } 稼働時間
rule-working-minutes = { $n } 稼働分
rule-working-seconds = { $n } 稼働秒
