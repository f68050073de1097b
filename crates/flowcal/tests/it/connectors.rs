//! The connector suite: the same story on every calendar kind (Radicale,
//! Xandikos, the Google double, the Microsoft Graph double).

use flowcal_calendar::{
    event_key, CalendarChoice, Connector, ConnectorError, EventSpec, Remote, When, DEFAULT_DURATION_MINUTES,
};

/// An all-day entry and a timed one, for user 1.
pub fn sample(source: &str, title: &str, when: When) -> EventSpec {
    EventSpec {
        key: event_key(1, source),
        title: title.to_owned(),
        description: "Process: Leave request\nOpen the task: https://flowcal.example/tasks/42".to_owned(),
        url: Some("https://flowcal.example/tasks/42".to_owned()),
        when,
        duration_minutes: DEFAULT_DURATION_MINUTES,
        transparent: true,
        reminder_minutes: Some(15),
        sequence: 0,
        stamp: "2026-03-27T08:00:00Z".parse().unwrap(),
    }
}

/// Runs the whole story on `c`; `stale` makes the connector's stored etag
/// out of date behind its back (another client changed the event), so the
/// 412 path is taken; `None` where the service has no etags to go stale.
pub async fn suite<C: Connector>(c: &C, stale: Option<&(dyn Fn(&Remote) -> Remote + Sync)>) {
    // flowcal's own calendar: created once, found again.
    let cal = c.ensure_calendar(&CalendarChoice::Own { name: "flowcal".into() }).await.unwrap();
    let again = c.ensure_calendar(&CalendarChoice::Own { name: "flowcal".into() }).await.unwrap();
    assert_eq!(cal.id, again.id, "ensure_calendar is idempotent");
    assert!(c.list_calendars().await.unwrap().iter().any(|k| k.id == cal.id));
    let existing = c.ensure_calendar(&CalendarChoice::Existing { id: cal.id.clone() }).await.unwrap();
    assert_eq!(existing.id, cal.id);

    // Create, read back.
    let day = sample(
        "task:42:deadline",
        "Approve — Easter, café; \"quoted\", back\\slash",
        When::Date("2026-03-29".parse().unwrap()),
    );
    let r1 = c.upsert_event(&cal.id, &day, None).await.unwrap();
    let got = c.get_event(&cal.id, &day.key, Some(&r1)).await.unwrap().expect("created event reads back");
    assert_eq!(got.title, day.title);
    assert_eq!(got.when, day.when);
    assert_eq!(got.end, "2026-03-30", "all-day end is exclusive");
    assert!(!got.cancelled);

    // The same create again (a retry that lost its answer): still one event.
    let r2 = c.upsert_event(&cal.id, &day, None).await.unwrap();
    assert_eq!(r2.id, r1.id, "a repeated create finds the same event");

    // Update.
    let mut moved = day.clone();
    moved.when = When::Date("2026-04-02".parse().unwrap());
    moved.title = "Approve — Easter (moved)".into();
    moved.sequence = 1;
    let r3 = c.upsert_event(&cal.id, &moved, Some(&r2)).await.unwrap();
    let got = c.get_event(&cal.id, &day.key, Some(&r3)).await.unwrap().unwrap();
    assert_eq!((got.title.as_str(), &got.when), (moved.title.as_str(), &moved.when));

    // A timed entry keeps its instant.
    let at: jiff::Timestamp = "2026-10-25T00:30:00Z".parse().unwrap();
    let timed = sample("instance:7:item:handover", "Hand-over", When::At { at, zone: "Europe/Berlin".into() });
    let rt = c.upsert_event(&cal.id, &timed, None).await.unwrap();
    let got = c.get_event(&cal.id, &timed.key, Some(&rt)).await.unwrap().unwrap();
    match &got.when {
        When::At { at: a, .. } => assert_eq!(*a, at),
        other => panic!("timed entry came back as {other:?}"),
    }

    // Several new entries at once (in batch requests where the kind has them),
    // one of them made before (its answer lost): found again, not duplicated.
    let new = [
        sample("task:43:deadline", "Sign", When::Date("2026-05-04".parse().unwrap())),
        sample("task:44:deadline", "Hand in", When::At { at, zone: "Europe/Berlin".into() }),
    ];
    let made_before = c.upsert_event(&cal.id, &new[0], None).await.unwrap();
    let made = c.create_events(&cal.id, &new).await.unwrap();
    assert_eq!(made.len(), new.len());
    let made: Vec<Remote> = made.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(made[0].id, made_before.id, "an entry made before is found again");
    for (ev, r) in new.iter().zip(&made) {
        let got = c.get_event(&cal.id, &ev.key, Some(r)).await.unwrap().expect("a created entry reads back");
        assert_eq!(got.title, ev.title);
        match (&got.when, &ev.when) {
            (When::At { at: a, .. }, When::At { at: b, .. }) => assert_eq!(a, b),
            (a, b) => assert_eq!(a, b),
        }
        c.delete_event(&cal.id, &ev.key, Some(r)).await.unwrap();
    }

    // 412: the stored etag is out of date; the connector refetches and reapplies.
    if let Some(stale) = stale {
        let old = stale(&r3);
        let mut again = moved.clone();
        again.title = "Approve — Easter (after a conflict)".into();
        again.sequence = 2;
        let r4 = c.upsert_event(&cal.id, &again, Some(&old)).await.unwrap();
        let got = c.get_event(&cal.id, &day.key, Some(&r4)).await.unwrap().unwrap();
        assert_eq!(got.title, again.title);
    }

    // Delete, delete again, gone.
    c.delete_event(&cal.id, &day.key, Some(&r3)).await.unwrap();
    c.delete_event(&cal.id, &day.key, Some(&r3)).await.unwrap();
    let gone = c.get_event(&cal.id, &day.key, Some(&r3)).await.unwrap();
    assert!(gone.as_ref().is_none_or(|e| e.cancelled), "deleted: {gone:?}");
    // Created again after a delete: restored, not duplicated.
    let r5 = c.upsert_event(&cal.id, &day, None).await.unwrap();
    let got = c.get_event(&cal.id, &day.key, Some(&r5)).await.unwrap().unwrap();
    assert!(!got.cancelled);
    c.delete_event(&cal.id, &timed.key, Some(&rt)).await.unwrap();
    c.delete_event(&cal.id, &day.key, Some(&r5)).await.unwrap();

    // A calendar that does not exist.
    let e = c.upsert_event("no-such-calendar-1", &day, None).await.unwrap_err();
    assert!(matches!(e, ConnectorError::Gone(_) | ConnectorError::Permanent(_)), "{e:?}");
}
