//! The company register: what a tax number (INN) belongs to. One trait; a console
//! implementation for development that finds nothing; an HTTP implementation for a
//! DaData-style "find party by id" service, tested against a local fake.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::DeliveryError;
use super::http::ProviderClient;
use crate::config::{CompanySettings, ProviderKind};

/// A company (or sole trader) as the register knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Company {
    pub inn: String,
    /// The full name with its legal form.
    pub name: String,
    pub short_name: Option<String>,
    /// The registered address.
    pub address: Option<String>,
    pub kpp: Option<String>,
    pub ogrn: Option<String>,
    /// `active`, `liquidating`, `liquidated`, … as the register says, in lower case.
    pub status: Option<String>,
}

#[async_trait]
pub trait CompanyLookup: Send + Sync {
    /// The company with this (already checked) INN, or `None` when the register has
    /// none.
    async fn find(&self, inn: &str) -> Result<Option<Company>, DeliveryError>;
}

/// Development: no register on this machine.
pub struct ConsoleCompanies;

#[async_trait]
impl CompanyLookup for ConsoleCompanies {
    async fn find(&self, inn: &str) -> Result<Option<Company>, DeliveryError> {
        tracing::info!(
            inn,
            "company lookup: the console provider knows no companies"
        );
        Ok(None)
    }
}

/// A DaData-style service.
pub struct HttpCompanies {
    client: ProviderClient,
    token: Option<String>,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    suggestions: Vec<Suggestion>,
}

#[derive(Deserialize)]
struct Suggestion {
    value: String,
    data: PartyData,
}

#[derive(Deserialize, Default)]
struct PartyData {
    inn: Option<String>,
    kpp: Option<String>,
    ogrn: Option<String>,
    name: Option<PartyName>,
    address: Option<PartyAddress>,
    state: Option<PartyState>,
}

#[derive(Deserialize, Default)]
struct PartyName {
    full_with_opf: Option<String>,
    short_with_opf: Option<String>,
}

#[derive(Deserialize, Default)]
struct PartyAddress {
    value: Option<String>,
}

#[derive(Deserialize, Default)]
struct PartyState {
    status: Option<String>,
}

impl HttpCompanies {
    pub fn new(settings: &CompanySettings) -> anyhow::Result<Self> {
        Ok(Self {
            // The service takes `Token {key}`, not a bearer key: sent by hand below.
            client: ProviderClient::new(
                settings.url.as_deref(),
                None,
                settings.timeout_ms,
                "companies.url",
            )?,
            token: settings.api_key.as_ref().map(|k| k.expose().clone()),
        })
    }
}

#[async_trait]
impl CompanyLookup for HttpCompanies {
    async fn find(&self, inn: &str) -> Result<Option<Company>, DeliveryError> {
        let mut request = self
            .client
            .post("/findById/party")
            .json(&serde_json::json!({ "query": inn, "count": 1 }));
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Token {token}"));
        }
        let answer: Answer = self.client.send(request).await?;
        let Some(found) = answer.suggestions.into_iter().next() else {
            return Ok(None);
        };
        let data = found.data;
        if data.inn.as_deref().is_some_and(|found| found != inn) {
            return Err(DeliveryError::Permanent(format!(
                "the register answered another INN for {inn}"
            )));
        }
        let name = data.name.unwrap_or_default();
        Ok(Some(Company {
            inn: inn.to_string(),
            name: name.full_with_opf.unwrap_or(found.value),
            short_name: name.short_with_opf,
            address: data.address.and_then(|a| a.value),
            kpp: data.kpp,
            ogrn: data.ogrn,
            status: data
                .state
                .and_then(|s| s.status)
                .map(|s| s.to_ascii_lowercase()),
        }))
    }
}

pub fn companies_from_settings(
    settings: &CompanySettings,
) -> anyhow::Result<std::sync::Arc<dyn CompanyLookup>> {
    Ok(match settings.provider {
        ProviderKind::Console => std::sync::Arc::new(ConsoleCompanies),
        ProviderKind::Http => std::sync::Arc::new(HttpCompanies::new(settings)?),
    })
}
