#![allow(clippy::unwrap_used)]

use super::*;
use crate::{AnyConnector, Credential};
use flowcal_connect::jwt::{IdClaims, Issuer};
use flowcal_connect::oauth::ClientAuth;

const GUID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

fn kind(name: &str) -> ProviderKind {
    ProviderKind::named(name).unwrap()
}

fn tenant(t: &str) -> Restriction<'_> {
    Restriction { allowed_domains: &[], tenant: Some(t) }
}

fn claims(tid: Option<&str>) -> IdClaims {
    serde_json::from_value(serde_json::json!({"iss": "i", "sub": "s", "exp": 0, "tid": tid})).unwrap()
}

fn params(p: &[(String, String)]) -> Vec<(&str, &str)> {
    p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn the_registry_lists_each_kind_once_under_its_name_and_label() {
    let kinds: Vec<(&str, &str)> = ProviderKind::all().map(|k| (k.name(), k.label())).collect();
    assert_eq!(kinds, [("google", "Google"), ("microsoft", "Microsoft 365"), ("oauth", "Other OAuth 2.0 / OpenID")]);
    for k in ProviderKind::all() {
        assert_eq!(ProviderKind::named(k.as_str()), Some(k));
    }
    assert_eq!(ProviderKind::named("yahoo"), None);
    assert_eq!(ProviderKind::named("Google"), None, "names are lowercase, as in the configuration");
    assert_eq!(ProviderKind::GENERIC, kind("oauth"));
}

#[test]
fn a_kind_is_written_as_its_name() {
    for k in ProviderKind::all() {
        let json = serde_json::to_string(&k).unwrap();
        assert_eq!(json, format!("\"{}\"", k.as_str()));
        assert_eq!(serde_json::from_str::<ProviderKind>(&json).unwrap(), k);
    }
    let e = serde_json::from_str::<ProviderKind>("\"yahoo\"").unwrap_err().to_string();
    assert!(e.starts_with("unknown variant `yahoo`, expected one of `google`, `microsoft`, `oauth`"), "{e}");
    assert!(serde_json::from_str::<ProviderKind>("1").is_err());
}

#[test]
fn google_defaults() {
    let d = kind("google").defaults(&Restriction::default());
    assert_eq!(
        d,
        Defaults {
            issuer: Some("https://accounts.google.com".into()),
            authorization_endpoint: Some("https://accounts.google.com/o/oauth2/v2/auth".into()),
            token_endpoint: Some("https://oauth2.googleapis.com/token".into()),
            revocation_endpoint: Some("https://oauth2.googleapis.com/revoke".into()),
            jwks_uri: Some("https://www.googleapis.com/oauth2/v3/certs".into()),
            scopes: &["openid", "email", "https://www.googleapis.com/auth/calendar.app.created"],
            client_auth: ClientAuth::ClientSecretPost,
        }
    );
    assert!(!kind("google").discovers());
}

#[test]
fn microsoft_defaults_follow_the_tenant() {
    let m = kind("microsoft");
    let d = m.defaults(&Restriction::default());
    assert_eq!(
        d,
        Defaults {
            issuer: Some("https://login.microsoftonline.com/{tenantid}/v2.0".into()),
            authorization_endpoint: Some(
                "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize".into()
            ),
            token_endpoint: Some("https://login.microsoftonline.com/organizations/oauth2/v2.0/token".into()),
            revocation_endpoint: None,
            jwks_uri: Some("https://login.microsoftonline.com/organizations/discovery/v2.0/keys".into()),
            scopes: &["openid", "email", "offline_access", "https://graph.microsoft.com/Calendars.ReadWrite"],
            client_auth: ClientAuth::ClientSecretPost,
        }
    );
    assert!(!m.discovers());
    let d = m.defaults(&tenant("contoso.onmicrosoft.com"));
    assert_eq!(d.issuer.as_deref(), Some("https://login.microsoftonline.com/{tenantid}/v2.0"));
    assert_eq!(
        d.token_endpoint.as_deref(),
        Some("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token")
    );
    let d = m.defaults(&tenant(GUID));
    assert_eq!(d.issuer, Some(format!("https://login.microsoftonline.com/{GUID}/v2.0")));
    assert_eq!(
        d.authorization_endpoint,
        Some(format!("https://login.microsoftonline.com/{GUID}/oauth2/v2.0/authorize"))
    );
    assert_eq!(d.jwks_uri, Some(format!("https://login.microsoftonline.com/{GUID}/discovery/v2.0/keys")));
    // Almost a GUID is a domain-like tenant: the issuer stays a template.
    let d = m.defaults(&tenant("72f988bf-86f1-41af-91ab-2d7cd011db4"));
    assert_eq!(d.issuer.as_deref(), Some("https://login.microsoftonline.com/{tenantid}/v2.0"));
}

#[test]
fn generic_defaults_come_from_discovery() {
    let g = kind("oauth");
    assert_eq!(
        g.defaults(&Restriction::default()),
        Defaults {
            issuer: None,
            authorization_endpoint: None,
            token_endpoint: None,
            revocation_endpoint: None,
            jwks_uri: None,
            scopes: &["openid", "offline_access"],
            client_auth: ClientAuth::ClientSecretBasic,
        }
    );
    assert!(g.discovers());
}

#[test]
fn microsoft_id_tokens_name_their_tenant() {
    let m = kind("microsoft");
    let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
    assert_eq!(m.id_token_issuers(template), [Issuer::TenantTemplate(template.into())]);
    let exact = format!("https://login.microsoftonline.com/{GUID}/v2.0");
    assert_eq!(m.id_token_issuers(&exact), [Issuer::Exact(exact.clone())]);
    // A tenant id in the settings: the token must come from that tenant.
    assert!(m.check_claims(&tenant(GUID), &claims(Some(GUID))).is_ok());
    let other = m.check_claims(&tenant(GUID), &claims(Some("00000000-0000-0000-0000-000000000000")));
    assert_eq!(other.unwrap_err(), "this Microsoft account belongs to another tenant");
    assert!(m.check_claims(&tenant(GUID), &claims(None)).is_err());
    // A domain or a shared tenant: the issuer template checks `tid`.
    assert!(m.check_claims(&tenant("organizations"), &claims(Some(GUID))).is_ok());
    assert!(m.check_claims(&Restriction::default(), &claims(None)).is_ok());
}

#[test]
fn google_accepts_its_bare_issuer_after_the_configured_one() {
    assert_eq!(
        kind("google").id_token_issuers("https://accounts.google.com"),
        [Issuer::Exact("https://accounts.google.com".into()), Issuer::Exact("accounts.google.com".into())]
    );
    assert!(kind("google").check_claims(&Restriction::default(), &claims(None)).is_ok());
    let o = kind("oauth");
    assert_eq!(o.id_token_issuers("https://id.example"), [Issuer::Exact("https://id.example".into())]);
    assert!(o.check_claims(&tenant(GUID), &claims(None)).is_ok());
}

#[test]
fn sign_in_may_create_users_only_when_restricted() {
    let domains = ["example.com".to_owned()];
    let g = kind("google");
    assert_eq!(g.open_to_all(&Restriction::default()), Some("allowed_domains"));
    assert_eq!(g.open_to_all(&Restriction { allowed_domains: &domains, tenant: None }), None);
    let m = kind("microsoft");
    assert!(m.open_to_all(&Restriction::default()).is_some(), "the default tenant is organizations");
    for shared in ["organizations", "common", "consumers"] {
        assert!(m.open_to_all(&tenant(shared)).is_some(), "{shared}");
    }
    assert_eq!(m.open_to_all(&tenant("contoso.com")), None);
    assert_eq!(m.open_to_all(&tenant(GUID)), None);
    // Google's restriction is its domains, not a tenant, and the other way round.
    assert!(g.open_to_all(&tenant(GUID)).is_some());
    assert!(m.open_to_all(&Restriction { allowed_domains: &domains, tenant: None }).is_some());
    let o = kind("oauth");
    assert_eq!(o.open_to_all(&Restriction::default()), None);
}

#[test]
fn authorization_parameters() {
    let one = ["example.com".to_owned()];
    let two = ["example.com".to_owned(), "example.org".to_owned()];
    let g = kind("google");
    let scopes = strings(g.defaults(&Restriction::default()).scopes);
    assert_eq!(
        params(&g.authorization_params(Purpose::Connect, &Restriction::default(), &scopes)),
        [("access_type", "offline"), ("prompt", "consent"), ("include_granted_scopes", "true")]
    );
    let r = Restriction { allowed_domains: &one, tenant: None };
    assert_eq!(
        params(&g.authorization_params(Purpose::Connect, &r, &scopes)),
        [("access_type", "offline"), ("prompt", "consent"), ("include_granted_scopes", "true"), ("hd", "example.com")]
    );
    let sign_in = strings(&["openid", "email", "profile"]);
    assert_eq!(params(&g.authorization_params(Purpose::SignIn, &r, &sign_in)), [("hd", "example.com")]);
    let r = Restriction { allowed_domains: &two, tenant: None };
    assert_eq!(params(&g.authorization_params(Purpose::SignIn, &r, &sign_in)), [("hd", "*")]);
    assert!(g.authorization_params(Purpose::SignIn, &Restriction::default(), &sign_in).is_empty());
    for k in ["microsoft", "oauth"] {
        let k = kind(k);
        let offline = strings(&["openid", "offline_access"]);
        let r = Restriction { allowed_domains: &one, tenant: None };
        assert_eq!(params(&k.authorization_params(Purpose::Connect, &r, &offline)), [("prompt", "consent")]);
        assert!(k.authorization_params(Purpose::Connect, &r, &strings(&["openid"])).is_empty());
        assert!(k.authorization_params(Purpose::SignIn, &r, &offline).is_empty());
    }
}

#[test]
fn calendar_apis_and_their_connectors() {
    let account = |base_url| ApiAccount {
        http: crate::api_client().unwrap(),
        base_url,
        credential: Credential::Bearer("t".into()),
        granted_scopes: Some("openid https://www.googleapis.com/auth/calendar.app.created"),
    };
    let google = kind("google").calendar_api().unwrap();
    let made = google(account(None)).unwrap();
    assert!(matches!(made, AnyConnector::Google(_)));
    let shown = format!("{made:?}");
    assert!(shown.contains("www.googleapis.com") && shown.contains("calendar.app.created"), "{shown}");
    assert!(google(account(Some("not a url"))).is_err());
    let graph = kind("microsoft").calendar_api().unwrap();
    assert!(matches!(graph(account(Some("http://127.0.0.1:9/graph"))).unwrap(), AnyConnector::Graph(_)));
    assert!(format!("{:?}", graph(account(None)).unwrap()).contains("graph.microsoft.com"));
    assert!(kind("oauth").calendar_api().is_none());
}

#[test]
fn only_google_links_to_an_event() {
    let link = kind("google").event_link("abc", "cal@example.com").unwrap();
    assert_eq!(link, "https://calendar.google.com/calendar/event?eid=YWJjIGNhbEBleGFtcGxlLmNvbQ");
    assert_eq!(kind("microsoft").event_link("abc", "cal"), None);
    assert_eq!(kind("oauth").event_link("abc", "cal"), None);
}
