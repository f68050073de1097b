# team: the team's week (/team), a role's open tasks due within the week.
team-title = Team's week
team-intro = Open tasks of a role due within { $days } days, and those overdue, earliest first.
team-role = Role
team-process = Process
team-all-processes = All processes
team-show = Show
# { $role } is the role's name.
team-role-heading = Role { $role }
team-empty = Nothing open is due this week.
team-task = Task
team-deadline = Deadline
team-held-by = Held by
team-you = you
team-unclaimed = unclaimed
team-cut = Only the first { $count } are shown: choose a process to see fewer at once.
team-no-roles = No roles yet.
team-for-members = the team's week is for members of a role: an administrator can give you one
team-not-a-member = you are not a member of that role
