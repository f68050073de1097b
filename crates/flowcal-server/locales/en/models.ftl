# models: the process models (/models): the list, the upload form and its refusals, a model's page.
models-title = Process models
models-forbidden = models are for administrators and the designers role
models-upload-heading = Upload a BPMN model
models-file = BPMN 2.0 file
models-upload-hint = A model with the process id of an existing one becomes its next version.
models-upload = Upload
models-list-caption = Models (newest versions)
models-name = Name
models-process-id = Process id
models-version = Version
# { $error } is what went wrong, as the server says it.
models-upload-failed = The upload failed: { $error }
models-choose-file = Choose a BPMN file to upload.
# max_model_bytes is the setting's name in the configuration file: keep it.
models-too-large = The file is larger than the limit of { $limit } bytes (max_model_bytes).
models-uploaded = Uploaded { $name } (version { $version })
# { $error } is why the model was refused (with its line and column), as the server says it.
models-refused = The model was refused: { $error }

## A model's page.
models-diagram-legend = Steps with a clock have a deadline rule: hover the step, or see it in the Steps table.
models-time-zone = Time zone
models-server-zone = { $zone } (the server's)
models-diagram = Diagram
models-steps = Steps
models-step = Step
models-id = Id
models-deadline = Deadline
models-no-deadline = none
models-timers = Timers
models-timer = Timer
models-where = Where
models-fires = Fires
models-timer-start = starts an instance
# { $step } is the id of the step the timer is on.
models-timer-cancels = on { $step }, cancels it
models-timer-stays = on { $step }, which stays open
models-timer-waits = the path waits
models-data-items = Data items
models-label = Label
models-key = Key
models-type = Type
models-required = Required
models-yes = yes
models-no = no
models-versions = Versions
models-version-item = version { $version } — { $name }
