# Meldungen, die die Dienste von flowcal schreiben und die Seiten in der Sprache des Lesers zeigen.
# Der englische Text wird wörtlich abgeglichen; die $Variablen werden aus ihm gefüllt.

caldav-its-explanation-could-not-be-read = (die Erklärung dazu konnte nicht gelesen werden: { $e })
caldav-an-explanation-flowcal-does-not-read = eine Erklärung, die flowcal nicht liest ({ $e })
caldav-could-not-reach = { $host } konnte nicht erreicht werden
caldav-could-not-reach-2 = { $host } konnte nicht erreicht werden: { $arg1 }
caldav-it-names-which-is-not-a = er nennt { $href }, was weder eine gültige URL noch ein gültiger Pfad ist
caldav-its-answer-is-not-xml-that = die Antwort ist kein XML, das flowcal liest: { $e }
caldav-its-answer-is-not-a-webdav = die Antwort ist kein WebDAV multistatus
caldav-its-answer-to-propfind-is-larger = die Antwort auf PROPFIND ist größer als { $arg1 }
caldav-nothing-was-found-at-404-not = unter { $arg0 } wurde nichts gefunden (404 Not Found); prüfen Sie die CalDAV-URL
caldav-the-caldav-server-answered-for = der CalDAV-Server antwortete auf { $answered } mit { $status }
caldav-the-caldav-server-at-named-which = der CalDAV-Server unter { $answered } nannte { $href }, was keine URL ist
caldav-the-caldav-server-failed-to-answer = der CalDAV-Server konnte auf { $answered } nicht antworten ({ $status }); versuchen Sie es später erneut
caldav-the-caldav-server-redirected-too-many = der CalDAV-Server hat zu oft umgeleitet: { $error }
caldav-the-caldav-server-refused-access-403 = der CalDAV-Server hat den Zugriff verweigert (403 Forbidden); prüfen Sie, ob das App-Passwort den Zugriff auf Kalender erlaubt
caldav-the-caldav-server-refused-the-username = der CalDAV-Server hat den Benutzernamen oder das App-Passwort abgelehnt
caldav-the-caldav-server-refused-the-username-2 = der CalDAV-Server hat den Benutzernamen oder das Passwort abgelehnt ({ $message })
caldav-the-caldav-server-sent-flowcal-on = der CalDAV-Server hat flowcal auf die unverschlüsselte URL { $url } umgeleitet; flowcal sendet keine Zugangsdaten über unverschlüsseltes http
caldav-the-caldav-server-sent-flowcal-on-2 = der CalDAV-Server hat flowcal auf die unverschlüsselte URL { $url } umgeleitet; flowcal sendet das App-Passwort nicht über unverschlüsseltes http
caldav-the-caldav-server-sent-flowcal-on-3 = der CalDAV-Server hat flowcal auf { $url } umgeleitet; flowcal sendet das App-Passwort nur an den Host, den Sie eingegeben haben: Geben Sie daher stattdessen { $url } als CalDAV-URL ein
caldav-the-caldav-server-sent-flowcal-on-4 = der CalDAV-Server hat flowcal auf { $url } umgeleitet; flowcal sendet die Zugangsdaten nur an { $host }
caldav-the-answer-of-the-caldav-server = die Antwort des CalDAV-Servers für { $url } konnte nicht gelesen werden: { $why }
caldav-the-answer-of-the-caldav-server-2 = die Antwort des CalDAV-Servers für { $url } ist größer als { $arg1 } KiB
caldav-the-answer-of-could-not-be = die Antwort von { $url } konnte nicht gelesen werden: { $why }
caldav-the-principal-has-no-calendar-home = der Principal { $principal } hat kein calendar-home-set (ist dies ein WebDAV-Server ohne CalDAV?)
caldav-the-principal-named-by-the-caldav = der vom CalDAV-Server genannte Principal { $principal } wurde nicht gefunden
caldav-did-not-finish-answering-within-seconds = { $arg1 } hat seine Antwort nicht innerhalb von { $arg2 } Sekunden abgeschlossen; versuchen Sie es später erneut
caldav-did-not-answer-in-time = { $host } hat nicht rechtzeitig geantwortet
caldav-is-not-a-caldav-calendar-url = { $id } ist keine CalDAV-Kalender-URL
caldav-redirected-too-many-times = { $url } hat zu oft umgeleitet
