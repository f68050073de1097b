# The sign-in page, error pages and what every page shares beyond common.ftl.

## Sign-in page
frame-sign-in = サインイン
frame-login = ログイン名
frame-password = パスワード
# A button for each OpenID provider: { $provider } is its name.
frame-sign-in-with = { $provider } でサインイン

## Error pages: their titles, and the sentence shown instead of an internal error.
frame-error-not-found = 見つかりません
frame-error-forbidden = 許可されていません
frame-error-conflict = 現在は実行できません
frame-error-too-many = 試行回数が多すぎます
frame-error-server = 問題が発生しました
frame-error-other = うまくいきませんでした
frame-error-internal = サーバーで問題が発生しました。詳細は管理者が flowcal のログで確認できます。
frame-go-back = 戻る
frame-form-out-of-date = このフォームは古いか、flowcal から送信されたものではありません。ページを再読み込みして、もう一度お試しください。

## The page the browser comes back to from a calendar service or a sign-in provider.
frame-back-to-flowcal = flowcal に戻る
frame-calendar-connected = カレンダーを接続しました
frame-calendar-reconnected = カレンダーを再接続しました
# { $account } is the connected account, as the calendar service names it.
frame-calendar-connected-text = flowcal は { $account } のカレンダーに予定を登録できるようになりました。
frame-calendar-not-connected = カレンダーは接続されていません
frame-calendar-declined = { $provider } でアクセスを拒否したため、何も接続されていません。いつでもやり直せます。
frame-cannot-sign-in = サインインできません
# Notices on the task page when "Add to calendar" led to connecting a calendar first.
frame-export-after-connect = カレンダーを接続しました。カレンダーに追加しています
frame-export-after-connect-failed = カレンダーを接続しましたが、予定を追加できませんでした: { $error }
