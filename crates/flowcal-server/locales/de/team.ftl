# team: the team's week (/team), a role's open tasks due within the week.
team-title = Woche des Teams
team-intro = Offene Aufgaben einer Rolle, die innerhalb von { $days } Tagen fällig sind, und die überfälligen, die frühesten zuerst.
team-role = Rolle
team-process = Prozess
team-all-processes = Alle Prozesse
team-show = Anzeigen
# { $role } is the role's name.
team-role-heading = Rolle { $role }
team-empty = Diese Woche ist nichts Offenes fällig.
team-task = Aufgabe
team-deadline = Frist
team-held-by = Bearbeitet von
team-you = Sie
team-unclaimed = nicht übernommen
team-cut = Nur die ersten { $count } werden gezeigt: Wählen Sie einen Prozess, um weniger auf einmal zu sehen.
team-no-roles = Noch keine Rollen.
team-for-members = Die Woche des Teams ist für Mitglieder einer Rolle: Eine Administratorin oder ein Administrator kann Ihnen eine geben.
team-not-a-member = Sie sind kein Mitglied dieser Rolle.
