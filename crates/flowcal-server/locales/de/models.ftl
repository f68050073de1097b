# models: the process models (/models): the list, the upload form and its refusals, a model's page.
models-title = Prozessmodelle
models-forbidden = Modelle sind der Administration und der Rolle designers vorbehalten.
models-upload-heading = BPMN-Modell hochladen
models-file = BPMN-2.0-Datei
models-upload-hint = Ein Modell mit der Prozess-ID eines vorhandenen wird dessen nächste Version.
models-upload = Hochladen
models-list-caption = Modelle (neueste Versionen)
models-name = Name
models-process-id = Prozess-ID
models-version = Version
# { $error } is what went wrong, as the server says it.
models-upload-failed = Das Hochladen ist fehlgeschlagen: { $error }
models-choose-file = Wählen Sie eine BPMN-Datei zum Hochladen.
# max_model_bytes is the setting's name in the configuration file: keep it.
models-too-large = Die Datei ist größer als die Grenze von { $limit } Bytes (max_model_bytes).
models-uploaded = { $name } hochgeladen (Version { $version })
# { $error } is why the model was refused (with its line and column), as the server says it.
models-refused = Das Modell wurde abgelehnt: { $error }

## A model's page.
models-diagram-legend = Schritte mit einer Uhr haben eine Fristregel: Zeigen Sie auf den Schritt oder sehen Sie sie in der Tabelle „Schritte“.
models-time-zone = Zeitzone
models-server-zone = { $zone } (die des Servers)
models-diagram = Diagramm
models-steps = Schritte
models-step = Schritt
models-id = ID
models-deadline = Frist
models-no-deadline = keine
models-timers = Timer
models-timer = Timer
models-where = Wo
models-fires = Löst aus
models-timer-start = startet eine Instanz
# { $step } is the id of the step the timer is on.
models-timer-cancels = an { $step }, bricht ihn ab
models-timer-stays = an { $step }, der offen bleibt
models-timer-waits = der Pfad wartet
models-data-items = Datenfelder
models-label = Bezeichnung
models-key = Schlüssel
models-type = Typ
models-required = Pflichtfeld
models-yes = ja
models-no = nein
models-versions = Versionen
models-version-item = Version { $version } — { $name }
