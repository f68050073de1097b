# team: the team's week (/team), a role's open tasks due within the week.
team-title = チームの週間予定
team-intro = ロールの未完了タスクのうち { $days } 日以内に期限が来るものと期限切れのものを、期限の早い順に表示します。
team-role = ロール
team-process = プロセス
team-all-processes = すべてのプロセス
team-show = 表示
# { $role } is the role's name.
team-role-heading = ロール { $role }
team-empty = 今週期限の未完了タスクはありません。
team-task = タスク
team-deadline = 期限
team-held-by = 担当者
team-you = あなた
team-unclaimed = 未担当
team-cut = 最初の { $count } 件のみ表示しています。プロセスを選ぶと件数を絞り込めます。
team-no-roles = ロールはまだありません。
team-for-members = チームの週間予定はロールのメンバー向けです。管理者にロールを付与してもらってください。
team-not-a-member = あなたはこのロールのメンバーではありません。
