# flowcal のサービスが書き出すメッセージです。ページでは読む人の言語で表示されます。
# 英語のテキストはそのまま照合され、$変数はそのテキストから埋められます。

caldav-its-explanation-could-not-be-read = (説明を読み取れませんでした: { $e })
caldav-an-explanation-flowcal-does-not-read = flowcal が読み取らない説明 ({ $e })
caldav-could-not-reach = { $host } に接続できませんでした
caldav-could-not-reach-2 = { $host } に接続できませんでした: { $arg1 }
caldav-it-names-which-is-not-a = { $href } が示されていますが、有効な URL でもパスでもありません
caldav-its-answer-is-not-xml-that = 応答が flowcal で読み取れる XML ではありません: { $e }
caldav-its-answer-is-not-a-webdav = 応答が WebDAV の multistatus ではありません
caldav-its-answer-to-propfind-is-larger = PROPFIND への応答が { $arg1 } を超えています
caldav-nothing-was-found-at-404-not = { $arg0 } には何もありません (404 Not Found)。CalDAV の URL を確認してください
caldav-the-caldav-server-answered-for = CalDAV サーバーが { $answered } に対して { $status } を返しました
caldav-the-caldav-server-at-named-which = { $answered } の CalDAV サーバーが示した { $href } は URL ではありません
caldav-the-caldav-server-failed-to-answer = CalDAV サーバーが { $answered } に応答できませんでした ({ $status })。後でもう一度お試しください
caldav-the-caldav-server-redirected-too-many = CalDAV サーバーのリダイレクト回数が多すぎます: { $error }
caldav-the-caldav-server-refused-access-403 = CalDAV サーバーがアクセスを拒否しました (403 Forbidden)。アプリ用パスワードでカレンダーへのアクセスが許可されているか確認してください
caldav-the-caldav-server-refused-the-username = CalDAV サーバーがユーザー名またはアプリ用パスワードを拒否しました
caldav-the-caldav-server-refused-the-username-2 = CalDAV サーバーがユーザー名またはパスワードを拒否しました ({ $message })
caldav-the-caldav-server-sent-flowcal-on = CalDAV サーバーが flowcal を暗号化されていない URL { $url } にリダイレクトしました。flowcal は暗号化されていない http で認証情報を送信しません
caldav-the-caldav-server-sent-flowcal-on-2 = CalDAV サーバーが flowcal を暗号化されていない URL { $url } にリダイレクトしました。flowcal は暗号化されていない http でアプリ用パスワードを送信しません
caldav-the-caldav-server-sent-flowcal-on-3 = CalDAV サーバーが flowcal を { $url } にリダイレクトしました。flowcal は入力されたホストにしかアプリ用パスワードを送信しないため、代わりに { $url } を CalDAV の URL として入力してください
caldav-the-caldav-server-sent-flowcal-on-4 = CalDAV サーバーが flowcal を { $url } にリダイレクトしました。flowcal は { $host } にしか認証情報を送信しません
caldav-the-answer-of-the-caldav-server = { $url } に対する CalDAV サーバーの応答を読み取れませんでした: { $why }
caldav-the-answer-of-the-caldav-server-2 = { $url } に対する CalDAV サーバーの応答が { $arg1 } KiB を超えています
caldav-the-answer-of-could-not-be = { $url } の応答を読み取れませんでした: { $why }
caldav-the-principal-has-no-calendar-home = プリンシパル { $principal } に calendar-home-set がありません (CalDAV に対応していない WebDAV サーバーではありませんか?)
caldav-the-principal-named-by-the-caldav = CalDAV サーバーが示したプリンシパル { $principal } が見つかりません
caldav-did-not-finish-answering-within-seconds = { $arg1 } が { $arg2 } 秒以内に応答を完了しませんでした。後でもう一度お試しください
caldav-did-not-answer-in-time = { $host } が時間内に応答しませんでした
caldav-is-not-a-caldav-calendar-url = { $id } は CalDAV カレンダーの URL ではありません
caldav-redirected-too-many-times = { $url } のリダイレクト回数が多すぎます
