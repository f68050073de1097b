# settings: the account settings page (/settings) and the notices its forms leave.
settings-title = 設定
settings-save = 保存
settings-saved = 保存しました
settings-copy = コピー
settings-never = なし
settings-off = オフ

## You
settings-you = アカウント
settings-language = 言語
settings-language-browser = ブラウザーの設定に従う
settings-time-zone = タイムゾーン
settings-calendar-export = カレンダーへのエクスポート: 期限や日付を flowcal がカレンダーに登録することを許可する
settings-export-not-allowed = 管理者があなたのアカウントのカレンダーエクスポートを有効にしていません。
settings-reminder = 各カレンダー予定の前のリマインダー (分、空欄でなし)
settings-reminder-invalid = リマインダーは分数で入力してください。

## Connected calendars
settings-calendars = 接続済みのカレンダー
settings-no-calendars = まだカレンダーが接続されていません。
settings-account-connected = ✓ 接続済み
settings-account-reconnect = ⚠ 再接続が必要です
# { $read } and { $delivered } are each settings-not-yet or a settings-ago-… text.
settings-account-health = カレンダーの最終読み取り: { $read } · 最後の予定の配信: { $delivered }
settings-not-yet = まだありません
# { $error } is the calendar service's answer, as it gave it.
settings-reading-failed = 読み取りに失敗しました: { $error }
settings-ago-now = たった今
settings-ago-minutes = { $count } 分前
settings-ago-hours = { $count } 時間前
settings-ago-days = { $count } 日前
settings-entries-go-to = 予定の登録先
settings-own-calendar = flowcal 専用のカレンダー
settings-use-calendar = このカレンダーを使う
settings-disconnect = 接続解除
# The disconnect button's name for screen readers: it must contain the button's text (settings-disconnect).
settings-disconnect-account = { $account } の接続解除
settings-disconnect-confirm = このカレンダーの接続を解除しますか?
# A button for each calendar service: { $provider } is its name.
settings-connect-provider = { $provider } に接続
settings-export-off-hint = カレンダーを接続するには、上でカレンダーへのエクスポートをオンにしてください。
settings-connected-notice = { $account } に接続しました
# { $details } says what happened at the calendar service.
settings-disconnected-notice = 接続を解除しました。{ $details }
settings-calendar-chosen = カレンダーを選択しました

## CalDAV
settings-caldav = CalDAV カレンダー (iCloud、Fastmail、Nextcloud など)
settings-caldav-url = サーバー URL
settings-caldav-user = ユーザー名
settings-caldav-password = アプリ用パスワード
settings-caldav-hint = メインのパスワードではなく、プロバイダーのセキュリティ設定で flowcal 用に作成したアプリ用パスワードを使用してください (iCloud: appleid.apple.com → サインインとセキュリティ → App 用パスワード)。パスワードはすぐに確認され、暗号化して保存されます。
settings-caldav-connect = 接続

## Keeping deadlines in a calendar
settings-auto-sync = 期限をカレンダーに常に反映
settings-auto-sync-hint = あなたに割り当てられた期限付きの未完了タスクはすべて選択したカレンダーに登録され、ワークフローの進行に合わせて更新されます。
settings-auto-sync-calendar = カレンダー
# { $done } is the word added to a completed entry's title (entry-done in common.ftl).
settings-keep-done = 完了したタスクを「✓ { $done }」として残す
settings-auto-sync-on-notice = 期限がカレンダーに反映されるようになりました
settings-auto-sync-off-notice = 自動同期をオフにしました

## iCal feed
settings-feed = 購読 (iCal フィード)
settings-feed-hint = flowcal が書き込めないカレンダー向け: 未完了の期限とエクスポートした日付のフィードを購読できます。
settings-feed-your-url = あなたのフィード URL
settings-feed-shown-once = (表示されるのは今だけです。他人に知られないようにしてください。URL を知っている人は誰でも期限を閲覧できます):
settings-feed-url = フィード URL
settings-feed-webcal = カレンダーアプリで開く (webcal)
settings-feed-on = ✓ オン
# { $when } is a date and time.
settings-feed-changed = 最終変更 { $when }
settings-feed-new-url = 新しい URL (古い URL は使えなくなります)
settings-feed-turn-off = フィードをオフにする
settings-feed-make = フィード URL を作成
settings-feed-ready = フィード URL を作成しました
settings-feed-off-notice = フィードをオフにしました

## Password
settings-password = パスワード
settings-current-password = 現在のパスワード
settings-new-password = 新しいパスワード (8 文字以上)
settings-password-hint = 変更すると、ほかのすべての場所 (ほかのブラウザーや端末) でサインアウトされます。このページはサインインしたままです。
settings-change-password = パスワードを変更
# { $count } is the number of the user's other sessions that were ended.
settings-password-changed = パスワードを変更しました。ほかのすべての場所でサインアウトしました (ほかのセッション { $count } 件を終了)。

## API tokens
settings-tokens = API トークン
settings-token-yours = 新しいトークン
settings-token-shown-once = (表示されるのは今だけです。API ではパスワードと同じように使えます):
settings-token-new = 新しい API トークン
settings-no-tokens = API トークンはありません。
settings-token-name = 名前
settings-token-created = 作成日時
settings-token-last-used = 最終使用
settings-token-expires = 有効期限
settings-revoke = 取り消す
# The revoke button's name for screen readers: it must contain the button's text (settings-revoke).
settings-revoke-token = トークン { $name } を取り消す
settings-revoke-confirm = このトークンを取り消しますか?
settings-token-name-label = 名前 (トークンの用途)
settings-token-days = 有効期間 (日数、空欄で無期限)
settings-token-days-invalid = 有効期間は日数で入力してください (無期限の場合は空欄)。
settings-token-create = トークンを作成
settings-token-ready = API トークンを作成しました
settings-token-revoked = トークンを取り消しました。今後は使用できません
