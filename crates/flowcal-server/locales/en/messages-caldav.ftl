# Messages flowcal's services write, which pages show in the reader's language.
# The English text is matched as written; $variables are filled from it.

caldav-its-explanation-could-not-be-read = (its explanation could not be read: { $e })
caldav-an-explanation-flowcal-does-not-read = an explanation flowcal does not read ({ $e })
caldav-could-not-reach = could not reach { $host }
caldav-could-not-reach-2 = could not reach { $host }: { $arg1 }
caldav-it-names-which-is-not-a = it names { $href }, which is not a valid URL or path
caldav-its-answer-is-not-xml-that = its answer is not XML that flowcal reads: { $e }
caldav-its-answer-is-not-a-webdav = its answer is not a WebDAV multistatus
caldav-its-answer-to-propfind-is-larger = its answer to PROPFIND is larger than { $arg1 }
caldav-nothing-was-found-at-404-not = nothing was found at { $arg0 } (404 Not Found); check the CalDAV URL
caldav-the-caldav-server-answered-for = the CalDAV server answered { $status } for { $answered }
caldav-the-caldav-server-at-named-which = the CalDAV server at { $answered } named { $href }, which is not a URL
caldav-the-caldav-server-failed-to-answer = the CalDAV server failed to answer for { $answered } ({ $status }); try again later
caldav-the-caldav-server-redirected-too-many = the CalDAV server redirected too many times: { $error }
caldav-the-caldav-server-refused-access-403 = the CalDAV server refused access (403 Forbidden); check that the app password allows calendar access
caldav-the-caldav-server-refused-the-username = the CalDAV server refused the username or app password
caldav-the-caldav-server-refused-the-username-2 = the CalDAV server refused the username or password ({ $message })
caldav-the-caldav-server-sent-flowcal-on = the CalDAV server sent flowcal on to the unencrypted URL { $url }; flowcal does not send credentials over plain http
caldav-the-caldav-server-sent-flowcal-on-2 = the CalDAV server sent flowcal on to the unencrypted URL { $url }; flowcal does not send the app password over plain http
caldav-the-caldav-server-sent-flowcal-on-3 = the CalDAV server sent flowcal on to { $url }; flowcal sends the app password only to the host you entered, so enter { $url } as the CalDAV URL instead
caldav-the-caldav-server-sent-flowcal-on-4 = the CalDAV server sent flowcal on to { $url }; flowcal sends the credentials only to { $host }
caldav-the-answer-of-the-caldav-server = the answer of the CalDAV server for { $url } could not be read: { $why }
caldav-the-answer-of-the-caldav-server-2 = the answer of the CalDAV server for { $url } is larger than { $arg1 } KiB
caldav-the-answer-of-could-not-be = the answer of { $url } could not be read: { $why }
caldav-the-principal-has-no-calendar-home = the principal { $principal } has no calendar-home-set (is this a WebDAV server without CalDAV?)
caldav-the-principal-named-by-the-caldav = the principal { $principal } named by the CalDAV server is not found
caldav-did-not-finish-answering-within-seconds = { $arg1 } did not finish answering within { $arg2 } seconds; try again later
caldav-did-not-answer-in-time = { $host } did not answer in time
caldav-is-not-a-caldav-calendar-url = { $id } is not a CalDAV calendar URL
caldav-redirected-too-many-times = { $url } redirected too many times
