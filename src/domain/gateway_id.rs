//! The id a delivery's SMS has at its gateway, as the delivery keeps it: `gateway:id`.

/// Which gateway took a message and the id it gave it. Written `gateway:id` (the gateway's
/// configured name, a colon, its message id) in `deliveries.gateway_id`, where the store's
/// queries also take the gateway back from before the first colon; a gateway's name has no
/// colon, its message id may.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GatewayId {
    /// The gateway's configured name (its `name`, else its kind).
    pub gateway: String,
    /// The gateway's own id for the message.
    pub id: String,
}

impl GatewayId {
    pub fn new(gateway: impl Into<String>, id: impl Into<String>) -> GatewayId {
        GatewayId {
            gateway: gateway.into(),
            id: id.into(),
        }
    }
}

impl std::fmt::Display for GatewayId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.gateway, self.id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a gateway id (gateway:id)")]
pub struct NotAGatewayId(pub String);

impl std::str::FromStr for GatewayId {
    type Err = NotAGatewayId;

    fn from_str(text: &str) -> Result<GatewayId, NotAGatewayId> {
        match text.split_once(':') {
            Some((gateway, id)) if !gateway.is_empty() => Ok(GatewayId::new(gateway, id)),
            _ => Err(NotAGatewayId(text.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gateway_id_reads_back_what_it_writes_colons_in_the_id_included() {
        let id = GatewayId::new("twilio-backup", "SM1:2");
        assert_eq!(id.to_string(), "twilio-backup:SM1:2");
        assert_eq!("twilio-backup:SM1:2".parse(), Ok(id));
        assert!("SM1".parse::<GatewayId>().is_err());
        assert!(":SM1".parse::<GatewayId>().is_err());
    }
}
