# Meldungen, die die Dienste von flowcal schreiben und die Seiten in der Sprache des Lesers zeigen.
# Der englische Text wird wörtlich abgeglichen; die $Variablen werden daraus gefüllt.

data-value = { $key }: { $message }
data-is-outside-the-dates-flowcal-accepts = „{ $s }“ liegt außerhalb des Datumsbereichs, den flowcal annimmt ({ $EARLIEST_DATE } bis { $LATEST_DATE })
data-a-value-is-required = ein Wert ist erforderlich
data-expected-a-string = Zeichenkette erwartet
data-longer-than-bytes = länger als { $MAX_TEXT } Bytes
data-a-single-line-is-expected-use = nur eine Zeile erwartet (verwenden Sie für mehrere Zeilen ein Datenfeld vom Typ text)
data-is-not-one-of = „{ $s }“ ist keiner dieser Werte: { $arg1 }
data-expected-a-number = Zahl erwartet
data-expected-a-finite-number = endliche Zahl erwartet
data-expected-true-or-false = true oder false erwartet
data-expected-a-date-yyyy-mm-dd = Datum im Format "YYYY-MM-DD" erwartet
data-is-not-a-date-write-yyyy = „{ $s }“ ist kein Datum; schreiben Sie YYYY-MM-DD
data-expected-an-rfc-3339-date-time = Datum mit Uhrzeit nach RFC 3339 erwartet
data-is-not-a-date-time-with = „{ $s }“ ist kein Datum mit Uhrzeit und UTC-Versatz (-23:59 bis +23:59); schreiben Sie z. B. 2026-03-28T09:30:00+01:00
data-expected-a-user-s-login = Anmeldename eines Benutzers erwartet
data-this-process-has-no-such-data = dieser Prozess hat kein solches Datenfeld
data-the-instance-is-not-running = die Instanz läuft nicht (Status: { $arg1 })
data-task-is-not-open = Aufgabe { $arg0 } ist nicht offen
data-the-model-s-time-zone-is = die Zeitzone des Modells ist nicht verwendbar: { $arg0 }
data-the-model-has-no-start-event = das Modell hat kein Startereignis
data-the-instance-has-no-incident-to = die Instanz hat keinen Vorfall, der erneut versucht werden könnte
data-timer-is-not-waiting = Timer { $arg0 } wartet nicht
data-the-deadline-falls-outside-the-supported = die Frist liegt außerhalb des unterstützten Datumsbereichs
data-data-item-holds-neither-a-date = Datenfeld „{ $arg0 }“ enthält weder ein Datum noch ein Datum mit Uhrzeit
data-the-work-calendar-has-no-working = der Arbeitskalender hat in dieser Richtung keine Arbeitszeit
data-months-and-years-cannot-be-counted = Monate und Jahre lassen sich nicht in Arbeitszeit zählen: Schreiben Sie Tage (P20D) oder Wochen (P4W)
data-is-not-a-weekday-write-mon = „{ $arg0 }“ ist kein Wochentag: Schreiben Sie mon, tue, wed, thu, fri, sat oder sun
data-the-weekday-is-listed-twice-in = der Wochentag „{ $arg0 }“ steht zweimal in der Arbeitswoche: Nennen Sie jeden Tag nur einmal
data-is-not-a-period-of-working = „{ $text }“ ist kein Zeitraum der Arbeitszeit ({ $reason }); schreiben Sie z. B. 09:00-12:00
data-the-working-hours-and-overlap-or = die Arbeitszeiten { $first } und { $second } { $place }überschneiden sich oder stehen in falscher Reihenfolge: Nennen Sie die Zeiträume vom frühesten an, z. B. 09:00-12:00, 13:00-17:00
data-the-holiday-on-has-an-empty = der Feiertag am { $arg0 } hat eine leere Liste von Arbeitszeiten: Geben Sie mindestens einen Zeitraum an, oder lassen Sie die Arbeitszeiten für einen arbeitsfreien Tag weg
data-has-periods-of-working-hours-at = { $what } hat { $count } Arbeitszeiträume; erlaubt sind höchstens { $MAX_PERIODS }
data-is-not-a-valid-work-calendar = „{ $arg0 }“ ist kein gültiger Name für einen Arbeitskalender: Verwenden Sie 1 bis 64 Zeichen a-z, 0-9 oder '-', mit einem Buchstaben oder einer Ziffer am Anfang und am Ende (z. B. de-berlin)
data-is-not-a-known-iana-time = „{ $arg0 }“ ist keine bekannte IANA-Zeitzone (z. B. Europe/Berlin oder America/New_York)
data-the-calendar-lists-at-most-are = der Kalender nennt { $count } { $what }; erlaubt sind höchstens { $MAX_DATES }: Entfernen Sie vergangene Jahre
data-is-listed-twice-as-list-each = { $date } steht zweimal als { $what } in der Liste: Nennen Sie jedes Datum nur einmal
data-is-both-a-holiday-and-an = { $arg0 } ist sowohl Feiertag als auch zusätzlicher Arbeitstag: Entfernen Sie einen der beiden Einträge (ein Feiertag mit Arbeitszeiten ist ein verkürzter Arbeitstag)
data-the-name-of-is-too-long = der Name für { $date } ist zu lang oder enthält Steuerzeichen: Verwenden Sie höchstens { $MAX_DAY_NAME } Zeichen Text
data-is-not-a-roll-write-forward = „{ $arg0 }“ ist keine Verschiebungsrichtung: Schreiben Sie forward oder backward
data-its-times-must-be-whole-minutes = seine Uhrzeiten müssen ganze Minuten sein
data-it-must-end-after-it-starts = er muss nach seinem Beginn enden, am selben Tag
data-the-holiday-on = der Feiertag am { $date }
data-the-working-day = der Arbeitstag
data-of-the-holiday-on = des Feiertags am { $date }{" "}
data-is-not-an-iso-8601-duration = „{ $text }“ ist keine ISO-8601-Dauer ({ $reason }); schreiben Sie z. B. P3D, PT4H, P1DT12H oder -P1D
data-item = das Datenfeld „{ $v }“
data-the-number = die Zahl { $n }
data-the-string = die Zeichenkette "{ $s }"
data-a-condition-in-parentheses = eine Bedingung in Klammern
data-unsupported-syntax-at-character = nicht unterstützte Syntax bei „{ $snippet }“ (Zeichen { $arg1 }): { $HINT }
data-the-condition-has-a-that-is = in der Bedingung „{ $arg1 }“ ist eine Klammer '(' nicht geschlossen
data-is-a-item = „{ $arg1 }“ ist ein Datenfeld vom Typ { $arg2 }
data-it-cannot-be-compared-with = { $arg1 }; { $arg2 } lässt sich damit nicht vergleichen: { $hint }
data-it-can-only-be-compared-with = { $arg1 }; es lässt sich nur mit == oder != vergleichen, nicht mit { $arg2 }
data-and-is-not-one-of-its = { $arg1 }, und "{ $s }" ist keine seiner Optionen ({ $arg2 })
data-so-it-cannot-be-a-condition = { $arg1 }, daher ist es allein keine Bedingung: Vergleichen Sie es mit == != < <= > oder >=
data-and-is-a-item-they-cannot = { $arg1 }, und „{ $arg2 }“ ist ein Datenfeld vom Typ { $arg3 }: die beiden lassen sich nicht vergleichen
data-and-are-boolean-items-they-can = „{ $arg1 }“ und „{ $arg2 }“ sind Datenfelder vom Typ boolean; sie lassen sich nur mit == oder != vergleichen, nicht mit { $arg3 }
data-is-not-a-valid-login-use = „{ $arg0 }“ ist kein gültiger Anmeldename: Verwenden Sie 1 bis 64 Zeichen a-z, 0-9, '.', '_' oder '-', beginnend mit einem Buchstaben oder einer Ziffer
data-is-not-name-value-deleted-respect = „{ $part }“ hat nicht die Form name=value (deleted=respect|restore, moved=propose|accept|revert)
data-deleted-an-entry-deleted-in-the = deleted={ $value }: ein im Kalender gelöschter Eintrag wird beachtet (respect) oder wiederhergestellt (restore)
data-moved-a-move-in-the-calendar = moved={ $value }: eine Verschiebung im Kalender wird vorgeschlagen (propose), übernommen (accept) oder rückgängig gemacht (revert)
data-is-given-twice = „{ $name }“ ist doppelt angegeben
data-is-not-a-calendar-edit-there = „{ $other }“ ist keine Kalenderänderung; möglich sind „deleted“ und „moved“
data-the-process-loops-here-without-reaching = der Prozess läuft hier im Kreis, ohne eine Aufgabe zu erreichen
data-a-second-path-reached-sub-process = ein zweiter Pfad hat den Teilprozess „{ $id }“ erreicht, während er läuft, und flowcal führt jeweils nur eine Instanz eines Teilprozesses aus: Versuchen Sie es erneut, wenn die laufende beendet ist, oder führen Sie die Pfade im Modell vor dem Teilprozess zusammen
data-sub-process-has-no-start-event = Teilprozess „{ $id }“ hat kein Startereignis; korrigieren Sie das Modell
data-timer-waits-until-the-date-in = Timer „{ $id }“ wartet bis zum Datum im Datenfeld „{ $key }“, das leer ist; setzen Sie es und versuchen Sie es erneut
data-timer-cannot-count-from-data-item = Timer „{ $id }“ kann nicht ab dem Datenfeld „{ $key }“ zählen: Sein Wert ergibt kein Datum, das flowcal unterstützt; korrigieren Sie ihn und versuchen Sie es erneut
data-timer-has-no-time-left-at = Timer „{ $id }“ hat keinen Zeitpunkt mehr, zu dem er auslösen würde; korrigieren Sie das Modell oder brechen Sie die Instanz ab
data-parallel-join-waits-for-flow-but = die parallele Zusammenführung „{ $node }“ wartet auf den Fluss { $arg1 }, aber kein Zweig, der dorthin führt, ist aktiv
data-the-condition-ends-too-early-a = die Bedingung „{ $arg1 }“ endet zu früh: Am Ende fehlt ein Wert
data-the-condition-is-nested-more-than = die Bedingung ist tiefer als { $MAX_DEPTH } Ebenen verschachtelt
data-the-string-starting-at-character-is = die Zeichenkette ab Zeichen { $arg1 } ist nicht geschlossen: Beenden Sie sie mit { $quote }
data-character-is-not-a-condition-on = { $what } (Zeichen { $at }) ist für sich allein keine Bedingung: Vergleichen Sie ein Datenfeld damit, z. B. amount > 5 oder status == "done"
data-no-condition-of-gateway-holds-and = keine Bedingung des Gateways „{ $arg1 }“ trifft zu ({ $arg2 }), und es hat keinen Standardfluss; korrigieren Sie die Daten und versuchen Sie es erneut
data-compare-it-with-a-number = vergleichen Sie es mit einer Zahl, z. B. > 5
data-compare-it-with-true-or-false = vergleichen Sie es mit true oder false
data-compare-it-with-a-string = vergleichen Sie es mit einer Zeichenkette in Anführungszeichen, z. B. == "done"
data-compare-it-with-a-date = vergleichen Sie es mit einem Datum der Form "YYYY-MM-DD", z. B. >= "2026-03-28"
data-compare-it-with-a-date-time = vergleichen Sie es mit einem Datum mit Uhrzeit nach RFC 3339 mit UTC-Versatz, z. B. < "2026-03-28T09:30:00+01:00"
