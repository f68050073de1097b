# Meldungen, die die Dienste von flowcal schreiben und die Seiten in der Sprache des Lesers zeigen.
# Der englische Text wird wörtlich abgeglichen; die $Variablen werden daraus gefüllt.

bpmn-the-process-s-top-level = der obersten Ebene des Prozesses
bpmn-sub-process = Teilprozess „{ $s }“
bpmn-sequence-flow-which-is-not-a = Sequenzfluss „{ $arg1 }“ { $verb } „{ $end }“, doch „{ $end }“ ist kein Knoten dieses Prozesses
bpmn-sequence-flow-is-in-but-in = Sequenzfluss „{ $arg1 }“ liegt in { $arg2 }, aber { $verb } { $arg3 } in { $arg4 }; ein Sequenzfluss kann die Grenze eines Teilprozesses nicht überschreiten: Verbinden Sie ihn mit dem Teilprozess selbst, und beginnen und beenden Sie den Pfad darin mit dessen eigenem Start- und Endereignis
bpmn-the-start-event = dem Startereignis
bpmn-the-start-event-of-sub-process = dem Startereignis von Teilprozess „{ $s }“
bpmn-cannot-be-reached-from = { $arg1 } ist von { $from } aus nicht erreichbar
bpmn-is-on-a-loop-that-passes = { $arg1 } liegt auf einer Schleife, die über keine Benutzeraufgabe und kein Zeitgeber-Ereignis führt: Ein Token würde dort endlos kreisen
bpmn-flow-condition = Fluss „{ $arg1 }“: Bedingung „{ $arg2 }“: { $arg3 }
bpmn-the-process = der Prozess
bpmn-has-no-start-event-bpmn-startevent = { $whose } hat kein Startereignis{ $inside } (bpmn:startEvent){ $collapsed }
bpmn-has-a-second-start-event-the = { $whose } hat ein zweites Startereignis „{ $arg1 }“ (das erste ist „{ $arg2 }“); flowcal startet jeden Durchlauf ({ $arg3 }) an genau einem Startereignis
bpmn-has-no-end-event-bpmn-endevent = { $whose } hat kein Endereignis{ $inside } (bpmn:endEvent)
bpmn-is-attached-to-which-is-not = { $this } ist an „{ $attached_to }“ angeheftet, das kein Knoten dieses Prozesses ist
bpmn-is-attached-to-flowcal-runs-boundary = { $this } ist an { $arg1 } angeheftet; flowcal führt Timer-Randereignisse nur an Benutzeraufgaben aus{ $hint }
bpmn-is-in-but-its-task-is = { $this } liegt in { $arg1 }, seine Aufgabe { $arg2 } aber in { $arg3 }; definieren Sie das Randereignis auf derselben Ebene wie seine Aufgabe
bpmn-has-flowcal-deadlinetimer-true-but-its = { $this } hat flowcal:deadlineTimer="true", aber seine Aufgabe { $arg1 } hat keine Frist: Geben Sie der Aufgabe flowcal:deadline oder flowcal:deadlineFrom, oder entfernen Sie flowcal:deadlineTimer
bpmn-flow-has-a-condition-but-it = Fluss „{ $arg1 }“ hat eine Bedingung, verlässt aber { $this }: flowcal unterstützt Bedingungen nur an den ausgehenden Flüssen eines exklusiven Gateways
bpmn-has-no-outgoing-flow-every-path = { $this } hat keinen ausgehenden Fluss; jeder Pfad muss zu einem Endereignis führen
bpmn-has-an-incoming-flow-nothing-can = { $this } hat einen eingehenden Fluss ({ $arg1 }); nichts darf zum Start zurückführen
bpmn-has-outgoing-flows-it-needs-exactly = { $this } hat { $arg1 } ausgehende Flüsse ({ $arg2 }); es braucht genau einen (mehrere Zweige starten Sie mit einem parallelen Gateway)
bpmn-has-an-outgoing-flow-an-end = { $this } hat einen ausgehenden Fluss ({ $arg1 }); ein Endereignis beendet seinen Pfad
bpmn-has-an-incoming-flow-a-boundary = { $this } hat einen eingehenden Fluss ({ $arg1 }); ein Randereignis beginnt seinen Pfad, wenn sein Timer auslöst, daher darf nichts zu ihm führen
bpmn-has-outgoing-flows-a-boundary-timer = { $this } hat { $arg1 } ausgehende Flüsse ({ $arg2 }); ein Timer-Randereignis hat genau einen: Verzweigen Sie mit einem parallelen Gateway (alle Pfade) oder einem exklusiven Gateway (ein Pfad)
bpmn-has-no-incoming-flow-so-it = { $this } hat keinen eingehenden Fluss und ist daher nicht erreichbar
bpmn-has-outgoing-flows-has-exactly-one = { $this } hat { $arg1 } ausgehende Flüsse ({ $arg2 }); { $step } hat genau einen: Verzweigen Sie mit einem parallelen Gateway (alle Pfade) oder einem exklusiven Gateway (ein Pfad)
bpmn-its-default-flow-is-not-one = { $this }: Sein Standardfluss „{ $default }“ ist keiner seiner ausgehenden Flüsse ({ $arg1 })
bpmn-flow-is-the-default-flow-of = Fluss „{ $arg1 }“ ist der Standardfluss von { $this } und kann daher keine Bedingung haben: Er wird genommen, wenn keine andere Bedingung zutrifft
bpmn-has-outgoing-flows-without-conditions-and = { $this } hat ausgehende Flüsse ohne Bedingungen und keinen Standardfluss; geben Sie jedem ausgehenden Fluss eine conditionExpression über Datenfelder, oder markieren Sie einen als Standardfluss des Gateways
bpmn-flow-leaves-without-a-condition-and = Fluss „{ $arg1 }“ verlässt { $this } ohne Bedingung und ist nicht der Standardfluss des Gateways; geben Sie ihm eine conditionExpression, oder machen Sie ihn zum Standardfluss
bpmn-flow-uses-in-conflicting-ways = Fluss „{ $arg1 }“ verwendet „{ $var }“ auf widersprüchliche Weise
bpmn-uses-both-as-a-and-as = verwendet „{ $var }“ sowohl als { $arg1 } als auch als { $arg2 }
bpmn-uses-as-a-but-flow-uses = verwendet „{ $var }“ als { $arg1 }, aber Fluss „{ $seen_in }“ verwendet es als { $arg2 }
bpmn-flow-condition-declare-it-with-flowcal = Fluss „{ $arg1 }“: Bedingung „{ $arg2 }“ { $how }; deklarieren Sie es mit <flowcal:dataItem key="{ $var }" type="…"/> und vergleichen Sie es mit Werten dieses Typs
bpmn-bpmn-subprocess-triggeredbyevent-true = bpmn:subProcess triggeredByEvent="true"
bpmn-is-not-supported = { $arg1 } wird nicht unterstützt ({ $SUPPORTED })
bpmn-elements-are-not-supported = { $arg1 } Elemente werden nicht unterstützt: { $named } ({ $SUPPORTED })
bpmn-flowcal-dataitem-belongs-directly-in-the = flowcal:dataItem gehört direkt in die bpmn:extensionElements des Prozesses
bpmn-flowcal-is-not-a-flowcal-element = flowcal:{ $local } ist kein flowcal-Element (flowcal liest flowcal:dataItem in den bpmn:extensionElements des Prozesses)
bpmn-flowcal-deadlinetimer-has-no-meaning-on = flowcal:deadlineTimer hat an bpmn:{ $local } keine Bedeutung: Nur ein Timer-Randereignis an einer Benutzeraufgabe zählt ab der Frist der Aufgabe
bpmn-flowcal-has-no-meaning-on-bpmn = flowcal:{ $name } hat an bpmn:{ $local } keine Bedeutung; { $WHERE_FLOWCAL_ATTRIBUTES_GO }
bpmn-bpmn-has-an-unknown-attribute-flowcal = bpmn:{ $local } hat ein unbekanntes Attribut flowcal:{ $name }; erlaubt sind { $list }
bpmn-flowcal-deadlinetimer-is-neither-true-nor = { $this }: flowcal:deadlineTimer="{ $other }" ist weder "true" noch "false"
bpmn-flowcal-timeroffset = { $this }: flowcal:timerOffset { $e }
bpmn-has-a-timer-without-timeduration-timedate = { $this } hat einen Timer ohne timeDuration, timeDate oder timeCycle: Geben Sie ihm eines davon, z. B. <bpmn:timeDuration>PT2H</bpmn:timeDuration>{ $deadline }
bpmn-has-both-and-a-timer-has = { $this } hat sowohl { $arg1 } als auch { $arg2 }; ein Timer hat genau eines von timeDuration, timeDate und timeCycle
bpmn-its-is-empty = sein Element { $local } ist leer; { $arg1 }
bpmn-timedate = timeDate { $m }
bpmn-write-an-iso-8601-duration-such = schreiben Sie eine ISO-8601-Dauer wie PT2H oder P3D
bpmn-flowcal-timeroffset-moves-a-date-read = { $this }: flowcal:timerOffset verschiebt ein aus einem Datenfeld gelesenes Datum, aber das Datum dieses Timers stammt aus keinem: Entfernen Sie flowcal:timerOffset, oder nennen Sie im timeDate ein Datenfeld vom Typ date oder datetime
bpmn-a-start-timer-cannot-read-a = { $this }: Ein Start-Timer kann kein Datenfeld lesen: Bevor er auslöst, gibt es weder eine Instanz noch Daten; geben Sie ein Datum oder eine Dauer an
bpmn-a-timedate-is-a-date-of = ein timeDate ist ein eigenständiges Datum
bpmn-a-timecycle-with-a-start-begins = ein timeCycle mit START beginnt an diesem START
bpmn-has-flowcal-deadlinetimer-true-which-counts = { $this } hat flowcal:deadlineTimer="true", das ab der Frist der Aufgabe zählt, aber { $why }: Verwenden Sie eine timeDuration, einen timeCycle ohne START oder keine Definition (zur Frist)
bpmn-is-negative-a-timer-counts-forward = { $what } „{ $text }“ ist negativ; ein Timer zählt ab seinem Start vorwärts
bpmn-has-a-time-zone-annotation-which = „{ $text }“ hat eine Zeitzonen-Annotation, die flowcal nicht liest: Geben Sie einen Versatz an, oder keinen Versatz für die Zeitzone des Modells
bpmn-is-neither-a-date-nor-a = „{ $text }“ ist weder ein Datum noch ein Datenfeld; { $DATES }
bpmn-names-item-which-is-a-item = nennt das Datenfeld „{ $key }“, das vom Typ { $arg1 } ist; das Datum eines Timers stammt aus einem Datenfeld vom Typ date oder datetime
bpmn-is-a-duration-not-a-date = „{ $text }“ ist eine Dauer, kein Datum: Verwenden Sie timeDuration für einen Timer, der nach einer gewissen Zeit auslöst
bpmn-names-item-but-there-is-no = nennt das Datenfeld „{ $key }“, aber ein solches Feld gibt es nicht: Deklarieren Sie es mit <flowcal:dataItem key="{ $key }" type="datetime"/> (oder type="date") in den extensionElements des Prozesses
bpmn-timecycle-is-not-supported = timeCycle „{ $text }“ wird nicht unterstützt: { $why }; { $CYCLES }
bpmn-is-not-r-or-rn-with = „{ $arg1 }“ ist weder R noch Rn mit einer Zahl n
bpmn-timecycle-start = timeCycle START { $m }
bpmn-timecycle-repeats-every-which-would-fire = timeCycle „{ $text }“ wiederholt sich alle { $every } und würde daher sofort endlos auslösen
bpmn-lane-name-cannot-be-a-role = der Lane-Name „{ $role }“ kann keine Rolle sein: Geben Sie der Lane einen Namen mit 1 bis 64 Zeichen
bpmn-task = Aufgabe „{ $id }“: { $m }
bpmn-flowcal-assignee = flowcal:assignee: { $e }
bpmn-flowcal-assignee-names-item-but-there = flowcal:assignee nennt das Datenfeld „{ $key }“, aber ein solches Feld gibt es nicht: Deklarieren Sie es mit <flowcal:dataItem key="{ $key }" type="user"/>
bpmn-flowcal-assignee-names-item-which-is = flowcal:assignee nennt das Datenfeld „{ $key }“, das vom Typ { $arg1 } ist, nicht vom Typ user
bpmn-flowcal-assignee-is-not-understood-write = flowcal:assignee „{ $text }“ wird nicht verstanden; schreiben Sie starter, user:LOGIN oder item:KEY
bpmn-task-bpmn-is-an-expression-which = Aufgabe „{ $id }“: bpmn:{ $role } „{ $text }“ ist ein Ausdruck, den flowcal nicht auswertet; schreiben Sie user(LOGIN), group(ROLE) oder einen Namen, oder flowcal:assignee="item:KEY" für einen Benutzer aus den Daten
bpmn-task-bpmn-names-the-resource-which = Aufgabe „{ $id }“: bpmn:{ $role } nennt die Ressource „{ $reference }“, die die Datei nicht deklariert (bpmn:resource)
bpmn-task-has-several-candidates-flowcal-gives = Aufgabe „{ $id }“ hat mehrere Kandidaten ({ $arg1 }); flowcal vergibt eine Aufgabe an einen Benutzer oder eine Rolle: Behalten Sie einen (jedes Mitglied einer Rolle kann die Aufgabe übernehmen), oder legen Sie die Aufgabe in eine Lane
bpmn-task-bpmn = Aufgabe „{ $id }“: bpmn:{ $arg1 } { $m }
bpmn-names-the-role-which-cannot-be = nennt die Rolle „{ $name }“, die keine Rolle sein kann: Verwenden Sie 1 bis 64 Zeichen
bpmn-names-the-user-write-group-role = nennt den Benutzer „{ $login }“: { $e }; schreiben Sie group(ROLE) für eine Rolle
bpmn-flowcal-workcalendar-is-not-a-work = { $on }: flowcal:workCalendar „{ $name }“ ist kein Name eines Arbeitskalenders: Verwenden Sie 1 bis 64 Zeichen a-z, 0-9 oder '-', mit einem Buchstaben oder einer Ziffer am Anfang und am Ende (z. B. de-berlin)
bpmn-lane = Lane „{ $lane_id }“
bpmn-task-2 = Aufgabe „{ $id }“
bpmn-flowcal-deadlineroll = flowcal:deadlineRoll: { $e }
bpmn-flowcal-deadlineroll-says-where-a-deadline = flowcal:deadlineRoll legt fest, wohin eine Frist rückt, die auf einen freien Tag fällt, aber die Aufgabe hat keinen Arbeitskalender: Geben Sie der Aufgabe, ihrer Lane oder dem Prozess flowcal:workCalendar
bpmn-counts-months-or-years-which-a = { $what } „{ $d }“ zählt Monate oder Jahre, die ein Arbeitskalender nicht in Arbeitstagen zählen kann: Schreiben Sie Tage (P20D) oder Wochen (P4W)
bpmn-current-step = aktueller Schritt
bpmn-the-file-is-not-readable-xml = die Datei ist kein lesbares XML: { $e }
bpmn-has-no = { $what } hat kein Attribut { $name }
bpmn-has-not-a-number = { $what } hat { $name }="{ $arg1 }", keine Zahl
bpmn-has-outside-the-flowcal-draws = { $what } hat { $name }="{ $arg1 }", außerhalb des Bereichs ±{ $MAX_COORD }, den flowcal zeichnet
bpmn-has-a-negative-width-or-height = { $what } hat eine negative Breite oder Höhe
bpmn-the-drawing-of = die Zeichnung von „{ $arg1 }“
bpmn-the-diagram-has-more-than-shapes = das Diagramm hat mehr als { $MAX_SHAPES } Formen, mehr als flowcal zeichnet
bpmn-the-diagram-has-more-than-edges = das Diagramm hat mehr als { $MAX_EDGES } Kanten, mehr als flowcal zeichnet
bpmn-the-diagram-s-edges-have-more = die Kanten des Diagramms haben mehr als { $MAX_WAYPOINTS } Wegpunkte, mehr als flowcal zeichnet
bpmn-the-process-has-more-than-steps = der Prozess hat mehr als { $MAX_SHAPES } Schritte, mehr als flowcal zeichnet
bpmn-the-process-has-more-than-flows = der Prozess hat mehr als { $MAX_EDGES } Flüsse, mehr als flowcal zeichnet
bpmn-the-diagram-would-be-more-than = das Diagramm ergäbe mehr als { $arg1 } MB Zeichnung, mehr als flowcal anzeigt
bpmn-the-document-has-bytes-more-than = das Dokument hat { $size } Bytes, mehr als die Grenze von { $limit }
bpmn-elements-are-nested-deeper-than-the = Elemente sind tiefer verschachtelt als die Grenze von { $limit } Ebenen
bpmn-an-element-has-more-attributes-than = ein Element hat mehr Attribute als die Grenze von { $limit }
bpmn-more-xml-namespace-declarations-are-in = an einem Element gelten mehr XML-Namensraumdeklarationen als die Grenze von { $limit }
bpmn-the-document-declares-more-xml-namespaces = das Dokument deklariert mehr XML-Namensräume als die Grenze von { $limit }
bpmn-the-document-has-more-xml-nodes = das Dokument hat mehr XML-Knoten als die Grenze von { $limit }
bpmn-the-document-has-a-document-type = das Dokument hat eine Dokumenttyp-Deklaration (<!DOCTYPE …>), die flowcal nicht annimmt
bpmn-not-well-formed-xml = kein wohlgeformtes XML: { $message }
bpmn-reading-the-xml-failed-unexpectedly = das Lesen des XML ist unerwartet fehlgeschlagen
bpmn-reading-the-xml-took-longer-than = das Lesen des XML dauerte länger als { $arg1 } Sekunden
bpmn-it-looks-like-a-cron-expression = er sieht aus wie ein cron-Ausdruck, den flowcal nicht liest
bpmn-it-does-not-start-with-r = er beginnt nicht mit R oder Rn
bpmn-a-cycle-with-an-end-is = ein Zyklus mit Ende (R/PERIOD/END) wird nicht unterstützt
bpmn-it-has-too-many-or-too = er hat zu viele oder zu wenige Teile
bpmn-named-step = { $word } „{ $id }“ ({ $name })
bpmn-step = { $word } „{ $id }“
bpmn-start-event = Startereignis
bpmn-end-event = Endereignis
bpmn-user-task = Benutzeraufgabe
bpmn-exclusive-gateway = exklusives Gateway
bpmn-parallel-gateway = paralleles Gateway
bpmn-terminate-end-event = Terminierungs-Endereignis
bpmn-intermediate-event = Zwischenereignis
bpmn-timer-event = Timer-Ereignis
bpmn-boundary-timer = Timer-Randereignis
