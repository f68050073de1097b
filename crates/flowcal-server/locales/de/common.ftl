# Wörter auf jeder Seite.
language-name = Deutsch
skip-to-content = Zum Inhalt springen
nav-main = Hauptmenü
nav-my-tasks = Meine Aufgaben
nav-start = Prozess starten
nav-models = Modelle
nav-calendar = Kalender
nav-team = Team
nav-work-calendars = Arbeitskalender
nav-settings = Einstellungen
nav-admin = Verwaltung
sign-out = Abmelden
overdue = Überfällig
due-soon = Bald fällig

date-long = { $weekday }, { $day }. { $month } { $year }
date-time = { $date }, { $time }
weekday-1 = Mo.
weekday-2 = Di.
weekday-3 = Mi.
weekday-4 = Do.
weekday-5 = Fr.
weekday-6 = Sa.
weekday-7 = So.
month-1 = Jan.
month-2 = Feb.
month-3 = März
month-4 = Apr.
month-5 = Mai
month-6 = Juni
month-7 = Juli
month-8 = Aug.
month-9 = Sept.
month-10 = Okt.
month-11 = Nov.
month-12 = Dez.

entry-done = ✓ erledigt: { $step }
entry-process = Prozess
entry-open = In flowcal öffnen

rule-from = ab { $item }
rule-from-offset = ab { $item } { $offset }
rule-on = am { $item }
rule-before = { $amount } vor { $item }
rule-after = { $amount } nach { $item }
rule-in-calendar = { $rule }, Kalender { $calendar }
rule-working-weeks =
    { $n ->
        [one] { $n } Arbeitswoche
       *[other] { $n } Arbeitswochen
    }
rule-working-days =
    { $n ->
        [one] { $n } Arbeitstag
       *[other] { $n } Arbeitstage
    }
rule-working-hours =
    { $n ->
        [one] { $n } Arbeitsstunde
       *[other] { $n } Arbeitsstunden
    }
rule-working-minutes =
    { $n ->
        [one] { $n } Arbeitsminute
       *[other] { $n } Arbeitsminuten
    }
rule-working-seconds =
    { $n ->
        [one] { $n } Arbeitssekunde
       *[other] { $n } Arbeitssekunden
    }
