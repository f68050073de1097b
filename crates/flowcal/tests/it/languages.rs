//! The web app's languages: chosen by the user's setting, else by the
//! browser's Accept-Language, else English.

use crate::credentials::{post_form, sign_in};
use crate::support::{TestApp, TestDb};
use reqwest::Method;
use serde_json::json;

/// Fails, naming it, at the first of `texts` that `html` lacks.
fn has_all(html: &str, texts: &[&str]) {
    for text in texts {
        assert!(html.contains(text), "{text} in {html}");
    }
}

/// `GET path` with a session cookie and an Accept-Language header: the page.
async fn page(t: &TestApp, cookie: &str, path: &str, accept: Option<&str>) -> String {
    let mut req = t.client.get(format!("{}{path}", t.base)).header("cookie", cookie);
    if let Some(a) = accept {
        req = req.header("accept-language", a);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_speak_the_users_language() {
    let t = TestApp::spawn(TestDb::sqlite()).await;
    let alice = t.user("alice", false, &[]).await;
    let cookie = sign_in(&t, "alice", "password-123").await.unwrap();

    // Without a setting: what the browser asks for, by its q-values; else English.
    let en = page(&t, &cookie, "/tasks", None).await;
    assert!(en.contains("<html lang=\"en\">") && en.contains(">My tasks</a>"), "{en}");
    let de = page(&t, &cookie, "/tasks", Some("de-DE,de;q=0.9,en;q=0.8")).await;
    assert!(de.contains("<html lang=\"de\">") && de.contains(">Meine Aufgaben</a>"), "{de}");
    assert!(de.contains(">Abmelden</button>"), "{de}");
    let ja = page(&t, &cookie, "/settings", Some("en;q=0.5, ja;q=0.8, fr")).await;
    assert!(ja.contains("<html lang=\"ja\">") && ja.contains(">自分のタスク</a>"), "{ja}");
    let fr = page(&t, &cookie, "/tasks", Some("fr-CH, fr;q=0.9")).await;
    assert!(fr.contains("<html lang=\"en\">"), "{fr}");

    // The setting, through the API, wins over the browser.
    let (s, me) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"language": "ja"}))).await;
    assert_eq!((s, me["language"].as_str()), (200, Some("ja")), "{me}");
    let ja = page(&t, &cookie, "/tasks", Some("de")).await;
    assert!(ja.contains("<html lang=\"ja\">") && ja.contains(">自分のタスク</a>"), "{ja}");
    // Only our languages; a refusal changes nothing.
    for bad in ["fr", "de-AT", "x"] {
        let (s, e) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"language": bad}))).await;
        assert_eq!(s, 422, "{bad}: {e}");
    }
    let (s, e) = t
        .call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"language": "fr", "time_zone": "Asia/Tokyo"})))
        .await;
    assert_eq!(s, 422, "{e}");
    let (_, me) = t.get("/api/v1/me", &alice).await;
    assert_eq!((me["language"].as_str(), me["time_zone"].as_str()), (Some("ja"), Some("Europe/Berlin")), "{me}");
    // null gives the choice back to the browser.
    let (s, me) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"language": null}))).await;
    assert_eq!((s, &me["language"]), (200, &json!(null)));
    assert!(page(&t, &cookie, "/tasks", Some("de")).await.contains("<html lang=\"de\">"));

    // The setting, through the settings page's form: it offers each language by its own name.
    let settings = page(&t, &cookie, "/settings", None).await;
    has_all(
        &settings,
        &["<option value=\"de\" lang=\"de\">Deutsch</option>", "<option value=\"ja\" lang=\"ja\">日本語</option>"],
    );
    let (s, _) =
        post_form(&t, &cookie, "/settings", "/settings/profile", &[("language", "de"), ("time_zone", "UTC")]).await;
    assert_eq!(s, 303);
    let de = page(&t, &cookie, "/settings", Some("ja")).await;
    assert!(de.contains("<html lang=\"de\">") && de.contains(">Einstellungen</a>"), "{de}");
    assert!(de.contains("<option value=\"de\" lang=\"de\" selected>Deutsch</option>"), "{de}");
    let (s, _) =
        post_form(&t, &cookie, "/settings", "/settings/profile", &[("language", "xx"), ("time_zone", "UTC")]).await;
    assert_eq!(s, 422);
    let (s, _) =
        post_form(&t, &cookie, "/settings", "/settings/profile", &[("language", ""), ("time_zone", "UTC")]).await;
    assert_eq!(s, 303);
    assert_eq!(t.get("/api/v1/me", &alice).await.1["language"], json!(null));
}

/// My tasks, a task page (its calendar buttons and the diagram's legend), the
/// start pages, their notices and field errors: in German by the setting, in
/// Japanese by the browser, with none of their English left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_task_pages_speak_german_and_japanese() {
    let t = TestApp::spawn(TestDb::sqlite()).await;
    let alice = t.user("alice", true, &["managers"]).await;
    let (s, m) = t.upload(&alice, crate::support::leave_model()).await;
    assert_eq!(s, 201, "{m}");
    let cookie = sign_in(&t, "alice", "password-123").await.unwrap();
    let notice = |cookie: &str| flowcal_connect::text::percent_decode(cookie);
    let english_absent = |html: &str, english: &[&str]| {
        for e in english {
            assert!(!html.contains(e), "{e:?} is still English in {html}");
        }
    };
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"language": "de"}))).await;
    assert_eq!(s, 200);

    // Starting a process, in German: the list, the form, a field's error, the notice.
    let start = page(&t, &cookie, "/start", Some("ja")).await;
    assert!(start.contains("<h1>Prozess starten</h1>") && start.contains(">Version 1</span>"), "{start}");
    english_absent(&start, &["Start a process", "version 1"]);
    let form = page(&t, &cookie, "/start/leave", None).await;
    assert!(form.contains(">Titel<span") && form.contains(">Starten</button>"), "{form}");
    english_absent(&form, &[">Title<", ">Start</button>"]);
    let fields = [("title", "Urlaub"), ("item.first_day", "2026-12-07"), ("item.days", "viele")];
    let (s, refused) = post_form(&t, &cookie, "/start/leave", "/start/leave", &fields).await;
    assert_eq!(s, 422);
    assert!(refused.contains(">Bitte geben Sie eine Zahl ein</p>"), "{refused}");
    english_absent(&refused, &["enter a number"]);
    let fields = [("title", "Urlaub"), ("item.first_day", "2026-12-07"), ("item.days", "8")];
    let (s, started) = post_form(&t, &cookie, "/start/leave", "/start/leave", &fields).await;
    assert_eq!((s, notice(&started).starts_with("flowcal_notice=Gestartet;")), (303, true), "{started}");

    // My tasks.
    let tasks = page(&t, &cookie, "/tasks", None).await;
    has_all(
        &tasks,
        &[
            "<h1>Meine Aufgaben</h1>",
            ">Fällig diese Woche</option>",
            ">Alle Prozesse</option>",
            ">Neueste zuerst</option>",
            ">Filtern</button>",
            "1–1 von 1 offenen Aufgabe</p>",
            "<th scope=\"col\">Aufgabe</th>",
            ">Rolle managers</td>",
        ],
    );
    english_absent(&tasks, &["Due this week", "All processes", "open task", ">Task</th>", "role managers", "Sort by"]);
    let at = tasks.find("href=\"/tasks/").unwrap() + 13;
    let task: i64 = tasks[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap();

    // The task page: its facts, the diagram's legend, why there is no *Add to calendar*.
    let path = format!("/tasks/{task}");
    let html = page(&t, &cookie, &path, None).await;
    has_all(
        &html,
        &[
            ">Aufgabe übernehmen</button>",
            ">noch niemand: Rolle managers</dd>",
            "<dd>offen</dd>",
            "Wo diese Aufgabe im Prozess steht</h2>",
            "Umrahmt: der Schritt dieser Aufgabe, <strong>Approve</strong>",
            "Häkchen: erledigt (noch keine)",
            "Kalenderexport in den <a href=\"/settings#profile\">Einstellungen</a> ein.",
            "Übernehmen Sie die Aufgabe",
        ],
    );
    english_absent(
        &html,
        &["Claim this task", "not yet", "Where this task", "Framed", "Tick: done", "Hover a step", "calendar export"],
    );

    // An entry of its deadline, moved in alice's calendar: the date it was moved to, in German.
    t.sql(&format!(
        "INSERT INTO calendar_accounts (user_id, kind, provider, external_id, display, status, credentials_sealed, \
         created_at, updated_at) SELECT id, 'caldav', 'caldav', 'x', 'Mein Kalender', 'active', '', 0, 0 FROM users \
         WHERE login = 'alice';
         INSERT INTO exports (user_id, account_id, source, task_id, instance_id, event_key, wanted, state, \
         not_before, created_at, updated_at, held_start) SELECT a.user_id, a.id, 'task:{task}:deadline', t.id, \
         t.instance_id, 'k', 'present', 'synced', 0, 0, 0, '2026-12-09' FROM calendar_accounts a, tasks t \
         WHERE t.id = {task};"
    ))
    .await;
    let html = page(&t, &cookie, &path, None).await;
    has_all(
        &html,
        &[
            "↔ In Ihrem Kalender verschoben",
            "auf Mi., 9. Dez. 2026</span>",
            "aria-label=\"Dieses Datum übernehmen für die Frist, wie im Kalender verschoben\">Dieses Datum übernehmen<",
            ">Beibehalten</button>",
        ],
    );
    english_absent(&html, &["Moved in your calendar", "Use this date", ">Keep<", "Wed 9 Dec"]);

    // Claiming and completing, with a field's error in between.
    let (s, claimed) = post_form(&t, &cookie, &path, &format!("{path}/claim"), &[]).await;
    assert_eq!((s, notice(&claimed).contains("=Die Aufgabe gehört jetzt Ihnen;")), (303, true), "{claimed}");
    let complete = format!("{path}/complete");
    let (s, refused) = post_form(&t, &cookie, &path, &complete, &[("item.days", "acht")]).await;
    assert_eq!(s, 422);
    assert!(refused.contains(">Aufgabe abschließen</button>") && refused.contains("Bitte geben Sie eine Zahl ein"));
    english_absent(&refused, &["Complete task", "enter a number"]);

    // In Japanese, by the browser's choice.
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"language": null}))).await;
    assert_eq!(s, 200);
    let ja = Some("ja-JP,ja;q=0.9");
    // The claim changed the task, so its entry is being sent again; as if it had been, still moved.
    t.sql(&format!("UPDATE exports SET state = 'synced' WHERE task_id = {task}")).await;
    let tasks = page(&t, &cookie, "/tasks", ja).await;
    has_all(
        &tasks,
        &["<h1>自分のタスク</h1>", ">今週が期限</option>", "未完了のタスク 1 件中 1–1 件</p>", ">あなた</td>"],
    );
    english_absent(&tasks, &["Due this week", "open task", ">you</td>"]);
    let html = page(&t, &cookie, &path, ja).await;
    has_all(
        &html,
        &[
            ">タスクを完了する</button>",
            "プロセス内でのこのタスクの位置</h2>",
            "チェック: 完了(まだありません)",
            "移動先: 2026年12月9日(水)",
            "aria-label=\"変更しない: 期限 はそのままにして、予定を元の日時に戻します\">変更しない<",
        ],
    );
    english_absent(&html, &["Complete task", "Where this task", "Tick: done", "Moved in your calendar"]);
    let start = page(&t, &cookie, "/start", ja).await;
    assert!(start.contains("<h1>プロセスを開始</h1>") && start.contains(">バージョン 1</span>"), "{start}");
    let fields = [
        ("item.first_day", "2026-12-07"),
        ("item.days", "8"),
        ("item.handover", "2026-12-01T10:00"),
        ("item.approved", "true"),
    ];
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    let token = {
        let html = page(&t, &cookie, &path, ja).await;
        let at = html.find("name=\"_csrf\" value=\"").unwrap() + 20;
        html[at..at + 32].to_owned()
    };
    form.push(("_csrf", &token));
    let r = t
        .client
        .post(format!("{}{complete}", t.base))
        .header("cookie", &cookie)
        .header("accept-language", "ja")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let done = r.headers().get_all("set-cookie").iter().map(|v| notice(v.to_str().unwrap())).collect::<Vec<_>>();
    assert!(done.iter().any(|c| c.starts_with("flowcal_notice=完了しました: Approve;")), "{done:?}");
}

/// The administration and the work calendar pages, with their notices and
/// refusals: in German by the setting, in Japanese by the browser's language.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_and_work_calendar_pages_in_german_and_japanese() {
    let t = TestApp::spawn(TestDb::sqlite()).await;
    let root = t.user("root", true, &[]).await;
    t.user("bob", false, &[]).await;
    let cookie = sign_in(&t, "root", "password-123").await.unwrap();
    // A notice comes back percent-encoded in its cookie.
    let decoded = |s: &str| {
        let (mut out, b) = (Vec::new(), s.as_bytes());
        let mut i = 0;
        while i < b.len() {
            match (b[i], s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())) {
                (b'%', Some(byte)) => (out.push(byte), i += 3),
                (c, _) => (out.push(c), i += 1),
            };
        }
        String::from_utf8(out).unwrap()
    };
    let english = [
        ">Administration<",
        "Who may export to calendars",
        "Add a user",
        "Delivery health",
        "Verify calendars",
        "Disable this user?",
        "Work calendar acme",
        "Holidays in 2026",
        "Working week",
        "Refresh sources now",
        "No holiday sources",
        "half day",
        "extra working day",
        "Delete this work calendar?",
        "Deadlines of steps",
    ];
    let no_english = |page: &str| {
        for text in english {
            assert!(!page.contains(text), "{text} is in English: {page}");
        }
    };

    // German, by the setting: the forms' notices and refusals too.
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &root, Some(json!({"language": "de"}))).await;
    assert_eq!(s, 200);
    let mut form = vec![
        ("create", "on"),
        ("name", "acme"),
        ("time_zone", "Europe/Berlin"),
        ("hours", "09:00-17:00"),
        ("holidays", "01.05.2026 Tag der Arbeit"),
        ("working_days", "2026-12-19 Inventur"),
        ("sources", ""),
    ];
    for day in ["mon", "tue", "wed", "thu", "fri"] {
        form.push(("week", day));
    }
    let (s, refused) = post_form(&t, &cookie, "/work-calendars", "/admin/work-calendars", &form).await;
    assert_eq!(s, 422, "{refused}");
    assert!(refused.contains("Feiertage, Zeile 1: „01.05.2026“ ist kein Datum"), "{refused}");
    form[4] = ("holidays", "2026-05-01 Tag der Arbeit\n2026-12-24 Heiligabend 09:00-12:00");
    let (s, notice) = post_form(&t, &cookie, "/work-calendars", "/admin/work-calendars", &form).await;
    assert_eq!(s, 303, "{notice}");
    assert!(decoded(&notice).contains("Arbeitskalender acme angelegt"), "{notice}");

    let list = page(&t, &cookie, "/work-calendars", None).await;
    for text in ["<h1>Arbeitskalender</h1>", "Mo., Di., Mi., Do., Fr.", "Neuer Arbeitskalender", "Zeitzone (IANA"] {
        assert!(list.contains(text), "{text} is missing: {list}");
    }
    no_english(&list);
    let year = page(&t, &cookie, "/work-calendars/acme", None).await;
    for text in [
        "<h1>Arbeitskalender acme</h1>",
        "title=\"Fr., 1. Mai 2026 — Tag der Arbeit (Feiertag)\"",
        "title=\"Sa., 19. Dez. 2026 — Inventur (zusätzlicher Arbeitstag)\"",
        "title=\"Fr., 27. März 2026 — Arbeitstag, heute\"",
        "<caption>März</caption>",
        "<abbr title=\"Montag\">Mo.</abbr>",
        "<h3>Feiertage 2026</h3>",
        ">Do., 24. Dez.</time>",
        "halber Tag: 09:00-12:00",
        // The last change, as German writes a date and time (09:00 in Berlin).
        "Fr., 27. März 2026, 09:00 CET von root",
        "Quellen jetzt aktualisieren",
    ] {
        assert!(year.contains(text), "{text} is missing: {year}");
    }
    no_english(&year);
    let (s, notice) = post_form(&t, &cookie, "/work-calendars/acme", "/admin/work-calendars/acme/refresh", &[]).await;
    assert_eq!(s, 303, "{notice}");
    assert!(decoded(&notice).contains("Feiertagsquellen von acme aktualisiert: 0 abgerufen"), "{notice}");

    let admin = page(&t, &cookie, "/admin", None).await;
    for text in [
        "<h1>Verwaltung</h1>",
        "Wer in Kalender exportieren darf",
        "2 Benutzer",
        "aria-label=\"Kalender prüfen: bob\">Kalender prüfen</button>",
        "Diesen Benutzer sperren? Seine Sitzungen enden sofort.",
        "Anderer OAuth-2.0-/OpenID-Server",
        "Zustellung",
    ] {
        assert!(admin.contains(text), "{text} is missing: {admin}");
    }
    no_english(&admin);
    let (s, notice) = post_form(&t, &cookie, "/admin", "/admin/users/bob/role", &[("role", "clerk")]).await;
    assert_eq!(s, 303, "{notice}");
    assert!(decoded(&notice).contains("bob hat die Rolle clerk"), "{notice}");
    let (s, short) = post_form(&t, &cookie, "/admin", "/admin/users/bob/password", &[("password", "short")]).await;
    assert_eq!(s, 422, "{short}");
    assert!(short.contains("ein Passwort braucht mindestens 10 Zeichen"), "{short}");
    let (s, verified) = post_form(&t, &cookie, "/admin", "/admin/users/bob/verify", &[]).await;
    assert_eq!(s, 200, "{verified}");
    assert!(verified.contains("<h1>Kalender von bob</h1>") && verified.contains("Zurück zur Verwaltung"), "{verified}");

    // Japanese, by the browser's language once the setting is gone.
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &root, Some(json!({"language": null}))).await;
    assert_eq!(s, 200);
    let year = page(&t, &cookie, "/work-calendars/acme", Some("ja")).await;
    for text in [
        "<h1>稼働日カレンダー acme</h1>",
        "title=\"2026年5月1日(金) — Tag der Arbeit (祝日)\"",
        "<caption>3月</caption>",
        "<h3>2026年の祝日</h3>",
        ">12月24日(木)</time>",
        "月、火、水、木、金",
        "2026年3月27日(金) 09:00 CET",
    ] {
        assert!(year.contains(text), "{text} is missing: {year}");
    }
    no_english(&year);
    let admin = page(&t, &cookie, "/admin", Some("ja")).await;
    for text in ["<h1>管理</h1>", "ユーザーを追加", "配信状況", "2 人のユーザー"] {
        assert!(admin.contains(text), "{text} is missing: {admin}");
    }
    no_english(&admin);
}

/// The settings page, the sign-in page, error pages and the page after a
/// calendar service's callback: in German and Japanese no English sentence of
/// theirs is left, and dates are written the language's way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_sign_in_and_error_pages_speak_the_users_language() {
    let t = TestApp::spawn(TestDb::sqlite()).await;
    // Her API token, made at the test clock's 2026-03-27 08:00 UTC, is listed with that time in her zone.
    let alice = t.user("alice", false, &[]).await;
    let cookie = sign_in(&t, "alice", "password-123").await.unwrap();
    // Any page, status and body, with cookies and an Accept-Language header.
    let fetch = |path: &str, cookie: &str, accept: &str| {
        let req = t.client.get(format!("{}{path}", t.base)).header("cookie", cookie).header("accept-language", accept);
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    // What English shows; each must be there in English and gone in German and Japanese.
    let check = |what: &str, en: &str, others: [&str; 2], english: &[&str]| {
        for s in english {
            assert!(en.contains(s), "{what}: {s:?} in English: {en}");
            for other in others {
                assert!(!other.contains(s), "{what}: {s:?} left in {other}");
            }
        }
    };

    // The settings page, by the browser's language.
    let en = page(&t, &cookie, "/settings", Some("en")).await;
    let de = page(&t, &cookie, "/settings", Some("de-DE,de;q=0.9")).await;
    let ja = page(&t, &cookie, "/settings", Some("ja")).await;
    check(
        "settings",
        &en,
        [&de, &ja],
        &[
            "<h1>Settings</h1>",
            "Connected calendars",
            "No calendar connected yet.",
            "Keep my deadlines in my calendar",
            "Subscribe (iCal feed)",
            "Make my feed URL",
            ">Change password<",
            "Changing it signs you out everywhere else",
            ">Time zone<",
            "As my browser asks",
            "API tokens",
            ">Last used<",
            "Revoke this token?",
            "Create token",
            "Fri 27 Mar 2026, 09:00 CET",
        ],
    );
    for (page, texts) in [
        (&de, ["<h1>Einstellungen</h1>", "Verbundene Kalender", "Passwort ändern", "Fr., 27. März 2026, 09:00 CET"]),
        (&ja, ["<h1>設定</h1>", "接続済みのカレンダー", "パスワードを変更", "2026年3月27日(金) 09:00 CET"]),
    ] {
        for s in texts {
            assert!(page.contains(s), "{s:?} in {page}");
        }
    }
    // A revoke button's name for screen readers keeps its visible words.
    assert!(ja.contains("aria-label=\"トークン") && ja.contains(">取り消す</button>"), "{ja}");

    // By her setting: a refused form (an unknown CSRF token) says so in her language.
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"language": "ja"}))).await;
    assert_eq!(s, 200);
    let forged = t
        .client
        .post(format!("{}/settings/feed/off", t.base))
        .header("cookie", &cookie)
        .form(&[("_csrf", "not-the-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let forged = forged.text().await.unwrap();
    assert!(forged.contains("<h1>許可されていません</h1>") && forged.contains("このフォームは古いか"), "{forged}");
    assert!(
        !forged.contains("Not allowed") && !forged.contains("out of date") && !forged.contains("Go back"),
        "{forged}"
    );
    // An unknown task: the error page in her language, whatever the browser asks.
    let (s, missing) = fetch("/tasks/999999", &cookie, "en").await;
    assert_eq!(s, 404, "{missing}");
    assert!(missing.contains("<h1>見つかりません</h1>") && missing.contains(">戻る</a>"), "{missing}");

    // Saving the settings with another language: the confirmation is already in the new one.
    let (s, notice) =
        post_form(&t, &cookie, "/settings", "/settings/profile", &[("language", "de"), ("time_zone", "Europe/Berlin")])
            .await;
    assert_eq!(s, 303, "{notice}");
    let notice = notice.split(';').next().unwrap().to_owned();
    let saved = page(&t, &format!("{cookie}; {notice}"), "/settings", Some("ja")).await;
    assert!(saved.contains("<p class=\"notice\" role=\"status\">Gespeichert</p>"), "{saved}");
    let (s, notice) = post_form(&t, &cookie, "/settings", "/settings/feed/off", &[]).await;
    assert_eq!(s, 303, "{notice}");
    let notice = notice.split(';').next().unwrap().to_owned();
    let off = page(&t, &format!("{cookie}; {notice}"), "/settings", None).await;
    assert!(off.contains(">Der Feed ist aus</p>"), "{off}");

    // The sign-in page and a failed sign-in: nobody is signed in, so the browser's language.
    let (_, en) = fetch("/login", "", "en").await;
    let (_, de) = fetch("/login", "", "de").await;
    let (_, ja) = fetch("/login", "", "ja-JP").await;
    check("sign-in", &en, [&de, &ja], &["<h1>Sign in</h1>", ">Login</label>", ">Password</label>", "Sign in —"]);
    assert!(de.contains("<html lang=\"de\">") && de.contains("<h1>Anmelden</h1>") && de.contains(">Passwort</label>"));
    assert!(
        ja.contains("<html lang=\"ja\">") && ja.contains("<h1>サインイン</h1>") && ja.contains(">パスワード</label>")
    );
    let failed = t
        .client
        .post(format!("{}/login", t.base))
        .header("accept", "text/html")
        .header("accept-language", "de")
        .form(&[("login", "alice"), ("password", "wrong-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 401);
    let failed = failed.text().await.unwrap();
    assert!(failed.contains("<html lang=\"de\">") && failed.contains("<h1>Anmelden</h1>"), "{failed}");

    // Back from a calendar service with a callback that names no sign-in or connection.
    let (_, en) = fetch("/oauth/callback?code=x&state=unknown", "", "en").await;
    let (_, de) = fetch("/oauth/callback?code=x&state=unknown", "", "de").await;
    let (_, ja) = fetch("/oauth/callback?code=x&state=unknown", "", "ja").await;
    check("callback", &en, [&de, &ja], &["<html lang=\"en\">", "Calendar not connected", "Back to flowcal"]);
    assert!(de.contains("<html lang=\"de\">") && de.contains("<h1>Kalender nicht verbunden</h1>"), "{de}");
    assert!(ja.contains("<html lang=\"ja\">") && ja.contains(">flowcal に戻る</a>"), "{ja}");
}

/// The calendar view (month, week, agenda), the team's week and the process
/// model pages with the upload's refusals: in German (by the setting) and in
/// Japanese (by the browser's language) no English of theirs is left, and the
/// dates, month names and weekdays are the language's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendar_team_and_model_pages_in_german_and_japanese() {
    use flowcal_domain::export::ExportSource;
    let t = TestApp::spawn(TestDb::sqlite()).await;
    let root = t.user("root", true, &[]).await;
    let ann = t.user("ann", false, &["team_a"]).await;
    assert_eq!(t.upload(&root, crate::calendar_view::CAL_MODEL).await.0, 201);
    assert_eq!(t.upload(&root, &crate::calendar_view::team_model("work", "Work")).await.0, 201);
    // At the test clock's Fri 27 March 2026 09:00 in Berlin: five "Late review"
    // due on Saturday the 28th (one more than a month's day cell shows), one
    // task of ann's role due on the 29th for the team's week.
    let (mut late, mut instance) = (0, 0);
    for _ in 0..5 {
        let (s, inst) = t.post("/api/v1/instances", &ann, json!({"model": "cal", "title": "Audit"})).await;
        assert_eq!(s, 201, "{inst}");
        // The first one's, which the day's cell shows.
        if late == 0 {
            late = inst["tasks"].as_array().unwrap().iter().find(|t| t["name"] == "Late review").unwrap()["id"]
                .as_i64()
                .unwrap();
            instance = inst["id"].as_i64().unwrap();
        }
    }
    assert_eq!(t.post("/api/v1/instances", &root, json!({"model": "work", "title": "Move"})).await.0, 201);
    // One deadline's copy in ann's calendar failed.
    let ann_id = t.app.store.user_by_login("ann").await.unwrap().unwrap().id;
    let acc = crate::calendar_view::placeholder_account(&t, ann_id).await;
    let source = ExportSource::TaskDeadline(flowcal_domain::TaskId(late));
    crate::calendar_view::export(&t, ann_id, acc, source, Some(late), instance, "failed").await;

    let (a, r) =
        (sign_in(&t, "ann", "password-123").await.unwrap(), sign_in(&t, "root", "password-123").await.unwrap());
    // Each page in English, German and Japanese.
    let pages = |accept: Option<&'static str>| {
        let (t, a, r) = (&t, a.clone(), r.clone());
        async move {
            let mut out = Vec::new();
            for (who, path) in [
                (&a, "/calendar?view=month&date=2026-03-27"),
                (&a, "/calendar?view=week&date=2026-03-27"),
                (&a, "/calendar?view=agenda&date=2026-03-27"),
                (&a, "/team"),
                (&r, "/models"),
                (&r, "/models/cal"),
            ] {
                out.push(page(t, who, path, accept).await);
            }
            // An upload through the form, as the page's language answers it.
            out.push(upload_form(t, &r, "<definitions/>", accept.unwrap_or("en")).await.1);
            out.push(upload_form(t, &r, "", accept.unwrap_or("en")).await.1);
            out
        }
    };
    let en = pages(None).await;
    let ja = pages(Some("ja")).await;
    for token in [&ann, &root] {
        let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", token, Some(json!({"language": "de"}))).await;
        assert_eq!(s, 200);
    }
    let de = pages(Some("ja")).await;
    let english: [&[&str]; 8] = [
        &[
            "<h1>Calendar</h1>",
            "Your deadlines and the dates you exported",
            "aria-label=\"Calendar views\"",
            ">Previous</a>",
            "<h2 id=\"range\">March 2026</h2>",
            "<abbr title=\"Monday\">Mon</abbr>",
            "Late review — deadline",
            "1 more",
            " on 28 March",
            "<span class=\"visually-hidden\">Calendar: </span>failed",
            ">Due soon<",
        ],
        &["Week of Mon 23 Mar 2026", "Saturday 28 March", "(today)", ">Nothing.<"],
        &["From Fri 27 Mar 2026", "Saturday 28 March 2026", ">Later</a>"],
        &["<h1>Team's week</h1>", "Open tasks of a role", "Role team_a", ">Held by<", "unclaimed", "All processes"],
        &[
            "<h1>Process models</h1>",
            "Upload a BPMN model",
            "BPMN 2.0 file",
            "Models (newest versions)",
            ">Process id<",
        ],
        &[
            "Data items",
            ">Versions<",
            "version 1 — Calendar test",
            "Steps with a clock",
            ">Required<",
            "(the server's)",
        ],
        &["The model was refused:"],
        &["Choose a BPMN file to upload."],
    ];
    for (n, texts) in english.iter().enumerate() {
        for s in *texts {
            assert!(en[n].contains(s), "{s:?} in English: {}", en[n]);
            assert!(!de[n].contains(s), "{s:?} left in German: {}", de[n]);
            assert!(!ja[n].contains(s), "{s:?} left in Japanese: {}", ja[n]);
        }
    }
    let german: [&[&str]; 8] = [
        &[
            "<html lang=\"de\">",
            "<h1>Kalender</h1>",
            "<h2 id=\"range\">März 2026</h2>",
            "<abbr title=\"Montag\">Mo.</abbr>",
            "Late review — Frist",
            "1 weitere",
            " am 28. März",
            "<span class=\"visually-hidden\">Kalender: </span>fehlgeschlagen",
            ">Bald fällig<",
        ],
        &["Woche ab Mo., 23. März 2026", "Samstag, 28. März", "(heute)", ">Nichts.<"],
        &["Ab Fr., 27. März 2026", "Samstag, 28. März 2026", ">Später</a>"],
        &["<h1>Woche des Teams</h1>", "Rolle team_a", ">Bearbeitet von<", "nicht übernommen", "Alle Prozesse"],
        &["<h1>Prozessmodelle</h1>", "BPMN-Modell hochladen", "Modelle (neueste Versionen)"],
        &["Datenfelder", ">Versionen<", "Version 1 — Calendar test", ">Pflichtfeld<", "(die des Servers)"],
        &["Das Modell wurde abgelehnt:"],
        &["Wählen Sie eine BPMN-Datei zum Hochladen."],
    ];
    let japanese: [&[&str]; 8] = [
        &[
            "<html lang=\"ja\">",
            "<h1>カレンダー</h1>",
            "<h2 id=\"range\">2026年3月</h2>",
            "<abbr title=\"月曜日\">月</abbr>",
            "Late review — 期限",
            "ほか 1 件",
            "(3月28日)",
            "<span class=\"visually-hidden\">カレンダー: </span>失敗",
            ">期限間近<",
        ],
        &["2026年3月23日(月) からの週", "3月28日(土)", "(今日)"],
        &["2026年3月27日(金) から", "2026年3月28日(土)"],
        &["<h1>チームの週間予定</h1>", "ロール team_a", ">担当者<", "未担当"],
        &["<h1>プロセスモデル</h1>", "BPMN モデルをアップロード"],
        &["データ項目", "バージョン 1 — Calendar test", ">必須<"],
        &["モデルは受け付けられませんでした:"],
        &["アップロードする BPMN ファイルを選択してください。"],
    ];
    for (pages, expected) in [(&de, german), (&ja, japanese)] {
        for (n, texts) in expected.iter().enumerate() {
            for s in *texts {
                assert!(pages[n].contains(s), "{s:?} is missing: {}", pages[n]);
            }
        }
    }
}

/// The text of the page's first element with `marker` (an alert, a field's
/// error), its entities read.
fn text_of(html: &str, marker: &str) -> String {
    let at = html.find(marker).unwrap_or_else(|| panic!("no {marker} in {html}"));
    let start = at + html[at..].find('>').unwrap() + 1;
    let end = start + html[start..].find("</p>").unwrap();
    html[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// A model file posted through the upload form (multipart), with the
/// browser's `accept` language: the page that answers.
async fn upload_form(t: &TestApp, cookie: &str, file: &str, accept: &str) -> (u16, String) {
    let csrf = crate::signin::page_csrf(&page(t, cookie, "/models", None).await);
    let body = format!(
        "--b\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n--b\r\nContent-Disposition: form-data; \
         name=\"bpmn\"; filename=\"m.bpmn\"\r\nContent-Type: application/xml\r\n\r\n{file}\r\n--b--\r\n"
    );
    let r = t
        .client
        .post(format!("{}/models", t.base))
        .header("cookie", cookie)
        .header("accept-language", accept)
        .header("content-type", "multipart/form-data; boundary=b")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// What flowcal's services say (a refused password, a refused model, data
/// that does not fit, a server that is no calendar server, a missing task)
/// reaches a German or Japanese page in that language, while the API keeps
/// English: the same forms, posted by a user who reads English and one who
/// reads German, answer with the same message in the two languages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_messages_are_said_in_the_users_language() {
    use flowcal_server::i18n::Lang;
    let t = TestApp::spawn(TestDb::sqlite()).await;
    let bob = t.user("bob", true, &[]).await;
    let alice = t.user("alice", true, &[]).await;
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"language": "de"}))).await;
    assert_eq!(s, 200);
    let en = sign_in(&t, "bob", "password-123").await.unwrap();
    let de = sign_in(&t, "alice", "password-123").await.unwrap();
    // The German page says what the English one says, in German words.
    let said = |what: &str, english: &str, german: &str| {
        assert!(!english.is_empty() && english.is_ascii(), "{what}: {english}");
        assert_eq!(german, Lang::De.translate(english), "{what}");
        assert_ne!(german, english, "{what}: left in English");
    };

    // A wrong current password.
    let form = [("current_password", "not-my-password"), ("new_password", "a-new-password")];
    let (s, e) = post_form(&t, &en, "/settings", "/settings/password", &form).await;
    let (s2, d) = post_form(&t, &de, "/settings", "/settings/password", &form).await;
    assert_eq!((s, s2), (403, 403));
    let (e, d) = (text_of(&e, "role=\"alert\""), text_of(&d, "role=\"alert\""));
    assert_eq!(e, "the current password is wrong: nothing was changed");
    said("password", &e, &d);

    // A model that flowcal refuses: the reason inside the page's own words,
    // the step named in German; the API says it in English.
    let refused = r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="approve" name="Approve"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="approve"/>
  </bpmn:process>
</bpmn:definitions>"#;
    let (s, api) = t.upload(&bob, refused).await;
    assert_eq!(s, 422, "{api}");
    let reason = api["error"]["message"].as_str().unwrap().to_owned();
    let (s, e) = upload_form(&t, &en, refused, "en").await;
    let (s2, d) = upload_form(&t, &de, refused, "en").await;
    assert_eq!((s, s2), (422, 422));
    let (e, d) = (text_of(&e, "id=\"upload-error\""), text_of(&d, "id=\"upload-error\""));
    assert!(e.contains(&reason), "{e}");
    let german = Lang::De.translate(&reason);
    assert!(d.contains(&german) && !d.contains(&reason), "{d}");
    assert!(reason.contains("user task 'approve' (Approve)") || reason.contains("end event 'e'"), "{reason}");
    assert!(german.contains("„approve“ (Approve)") || german.contains("Endereignis „e“"), "{german}");

    // Data that does not fit its items, on the start form: each field's problem.
    let required = r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowcal="https://flowcal.dev/schema/1" id="d" targetNamespace="t">
  <bpmn:process id="leave" name="Leave" isExecutable="true">
    <bpmn:extensionElements>
      <flowcal:dataItem key="first_day" label="First day" type="date" required="true"/>
    </bpmn:extensionElements>
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="approve" name="Approve" flowcal:assignee="starter"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="approve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;
    assert_eq!(t.upload(&bob, required).await.0, 201);
    let form = [("title", "Summer"), ("first_day", "")];
    let (s, e) = post_form(&t, &en, "/start/leave", "/start/leave", &form).await;
    let (s2, d) = post_form(&t, &de, "/start/leave", "/start/leave", &form).await;
    assert_eq!((s, s2), (422, 422), "{e}");
    let (e, d) = (text_of(&e, "class=\"field-error\""), text_of(&d, "class=\"field-error\""));
    assert_eq!(e, "a value is required");
    said("required", &e, &d);

    // A server that is no CalDAV server: flowcal's answer, the server's words kept.
    let form = [("url", &*format!("{}/no-dav/", t.base)), ("username", "me"), ("password", "app-password")];
    let (s, e) = post_form(&t, &en, "/settings", "/settings/caldav", &form).await;
    let (s2, d) = post_form(&t, &de, "/settings", "/settings/caldav", &form).await;
    assert_eq!(s, s2, "{e}");
    assert!(s >= 400, "{e}");
    let (e, d) = (text_of(&e, "role=\"alert\""), text_of(&d, "role=\"alert\""));
    said("caldav", &e, &d);

    // A task that is not there: the error page.
    let missing = |cookie: String| {
        let req = t.client.get(format!("{}/tasks/999999", t.base)).header("cookie", cookie);
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), text_of(&r.text().await.unwrap(), "role=\"alert\""))
        }
    };
    let ((s, e), (s2, d)) = (missing(en.clone()).await, missing(de.clone()).await);
    assert_eq!((s, s2), (404, 404));
    said("missing", &e, &d);

    // A failed sign-in, nobody signed in: the browser's language, Japanese too.
    let sign_in_as = |accept: &'static str| {
        let req = t
            .client
            .post(format!("{}/login", t.base))
            .header("accept", "text/html")
            .header("accept-language", accept)
            .form(&[("login", "alice"), ("password", "wrong-password")]);
        async move { text_of(&req.send().await.unwrap().text().await.unwrap(), "role=\"alert\"") }
    };
    let (e, d, j) = (sign_in_as("en").await, sign_in_as("de").await, sign_in_as("ja").await);
    assert_eq!(e, "wrong login or password");
    said("sign-in", &e, &d);
    assert_eq!(j, Lang::Ja.translate(&e));
    assert!(!j.is_ascii(), "{j}");
}
