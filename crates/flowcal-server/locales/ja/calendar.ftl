# calendar: the calendar view (/calendar) by month, week or as an agenda.
calendar-title = カレンダー
# { $zone } is the viewer's time zone, e.g. Europe/Berlin.
calendar-intro = あなたの期限とエクスポートした日付です ({ $zone })。
calendar-views = カレンダーの表示
calendar-view-month = 月
calendar-view-week = 週
calendar-view-agenda = 予定リスト
calendar-pages = カレンダーのページ
calendar-previous = 前へ
calendar-today = 今日
calendar-next = 次へ
calendar-later = 以降
calendar-cut = このページに表示しきれない予定があります。種類ごとに最初の { $count } 件だけを表示しています。週表示では一度に表示する日数が少なくなります。
calendar-month-empty = この期間に期限の予定はありません。
calendar-week-empty = 予定なし
calendar-agenda-empty = この { $count } 日間に期限の予定はありません。
calendar-today-mark = 今日
calendar-today-paren = (今日)
calendar-overdue = 期限切れ
# Followed by a link (calendar-all-overdue).
calendar-overdue-cut = 最初の { $count } 件のみ表示しています:
calendar-all-overdue = 期限切れのタスクをすべて表示
calendar-bad-view = 表示は month、week、agenda のいずれかを指定してください。
calendar-bad-date = 日付は YYYY-MM-DD 形式で指定してください。
calendar-out-of-range = その日付は範囲外です。

## Headings and day names. The day patterns may use { $weekday } and { $month } (the long
## names below), { $weekday-short } and { $month-short } (common.ftl), { $day },
## { $month-number } and { $year }; { $date } is a whole date as common.ftl writes it.
calendar-month-heading = { $year }年{ $month-number }月
calendar-week-heading = { $date } からの週
calendar-agenda-heading = { $date } から
calendar-day-heading = { $month-number }月{ $day }日({ $weekday-short })
calendar-day-heading-year = { $year }年{ $month-number }月{ $day }日({ $weekday-short })
# A month's day cell shows the weekday and the day's number; screen readers also hear
# these words before and after the number ({ "" } for none).
calendar-cell-before = { $month-number }月
calendar-cell-after = 日
# "N more" entries of a day, then (for screen readers) which day.
calendar-more = ほか { $count } 件
calendar-more-on = ({ $month-number }月{ $day }日)

## An entry: a task's deadline, and the state of its copy in the viewer's calendar.
calendar-entry-deadline = { $step } — 期限
calendar-deadline = 期限
calendar-no-open-task = (未完了のタスクなし)
# For screen readers, before the state.
calendar-state-prefix = カレンダー:
calendar-state-synced = カレンダー登録済み
calendar-state-pending = 登録待ち
calendar-state-failed = 失敗
calendar-state-waiting = 再接続待ち
calendar-state-removed = 削除済み
calendar-state-removed-in-calendar = カレンダー側で削除済み

calendar-weekday-1 = 月曜日
calendar-weekday-2 = 火曜日
calendar-weekday-3 = 水曜日
calendar-weekday-4 = 木曜日
calendar-weekday-5 = 金曜日
calendar-weekday-6 = 土曜日
calendar-weekday-7 = 日曜日
calendar-month-1 = 1月
calendar-month-2 = 2月
calendar-month-3 = 3月
calendar-month-4 = 4月
calendar-month-5 = 5月
calendar-month-6 = 6月
calendar-month-7 = 7月
calendar-month-8 = 8月
calendar-month-9 = 9月
calendar-month-10 = 10月
calendar-month-11 = 11月
calendar-month-12 = 12月
