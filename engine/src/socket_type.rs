//! ZeroMQ socket types, their wire names and the legal-pairs table.
//!
//! This lives in its own module because three places must agree on it exactly:
//! the READY encoder (our `Socket-Type` property), the READY validator (the
//! peer's property and the compatibility check, ZMTP.md section 6) and the
//! pattern layer above the engine. One table, one source of truth.

use std::fmt;

/// The standard (non-draft) ZeroMQ socket types.
///
/// Draft types (CLIENT, SERVER, RADIO, DISH, ...) are not supported; a peer
/// announcing one is rejected as incompatible during the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SocketType {
    /// Exclusive pair (RFC 31).
    Pair,
    /// Publisher (RFC 29).
    Pub,
    /// Subscriber (RFC 29).
    Sub,
    /// Requester, lock-step client (RFC 28).
    Req,
    /// Replier, lock-step server (RFC 28).
    Rep,
    /// Asynchronous requester (RFC 28).
    Dealer,
    /// Asynchronous replier with routing ids (RFC 28).
    Router,
    /// Pipeline sink (RFC 30).
    Pull,
    /// Pipeline source (RFC 30).
    Push,
    /// Publisher that receives subscriptions as messages (RFC 29).
    XPub,
    /// Subscriber that sends subscriptions as messages (RFC 29).
    XSub,
}

impl SocketType {
    /// Every socket type, in libzmq's numeric order (PAIR = 0 ... XSUB = 10).
    pub const ALL: [SocketType; 11] = [
        SocketType::Pair,
        SocketType::Pub,
        SocketType::Sub,
        SocketType::Req,
        SocketType::Rep,
        SocketType::Dealer,
        SocketType::Router,
        SocketType::Pull,
        SocketType::Push,
        SocketType::XPub,
        SocketType::XSub,
    ];

    /// The name as sent in the `Socket-Type` READY property (upper case).
    pub fn name(self) -> &'static str {
        match self {
            SocketType::Pair => "PAIR",
            SocketType::Pub => "PUB",
            SocketType::Sub => "SUB",
            SocketType::Req => "REQ",
            SocketType::Rep => "REP",
            SocketType::Dealer => "DEALER",
            SocketType::Router => "ROUTER",
            SocketType::Pull => "PULL",
            SocketType::Push => "PUSH",
            SocketType::XPub => "XPUB",
            SocketType::XSub => "XSUB",
        }
    }

    /// Parses a wire name. The match is exact and case-sensitive, as in
    /// libzmq (`dealer` is not `DEALER`).
    pub fn from_name(name: &[u8]) -> Option<SocketType> {
        Some(match name {
            b"PAIR" => SocketType::Pair,
            b"PUB" => SocketType::Pub,
            b"SUB" => SocketType::Sub,
            b"REQ" => SocketType::Req,
            b"REP" => SocketType::Rep,
            b"DEALER" => SocketType::Dealer,
            b"ROUTER" => SocketType::Router,
            b"PULL" => SocketType::Pull,
            b"PUSH" => SocketType::Push,
            b"XPUB" => SocketType::XPub,
            b"XSUB" => SocketType::XSub,
            _ => return None,
        })
    }

    /// Whether a socket of this type may talk to a peer of type `peer`
    /// (ZMTP.md section 6; the relation is symmetric).
    pub fn accepts(self, peer: SocketType) -> bool {
        use SocketType::*;
        matches!(
            (self, peer),
            (Req, Rep | Router)
                | (Rep, Req | Dealer)
                | (Dealer, Rep | Dealer | Router)
                | (Router, Req | Dealer | Router)
                | (Pub | XPub, Sub | XSub)
                | (Sub | XSub, Pub | XPub)
                | (Push, Pull)
                | (Pull, Push)
                | (Pair, Pair)
        )
    }

    /// Whether our READY carries an `Identity` property. libzmq sends it
    /// for REQ, DEALER and ROUTER, even when the routing id is empty.
    pub fn sends_identity(self) -> bool {
        matches!(
            self,
            SocketType::Req | SocketType::Dealer | SocketType::Router
        )
    }
}

impl fmt::Display for SocketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in SocketType::ALL {
            assert_eq!(SocketType::from_name(t.name().as_bytes()), Some(t));
            assert_eq!(t.to_string(), t.name());
        }
        assert_eq!(SocketType::from_name(b"dealer"), None);
        assert_eq!(SocketType::from_name(b"DEALER "), None);
        assert_eq!(SocketType::from_name(b""), None);
        assert_eq!(SocketType::from_name(b"CLIENT"), None);
    }

    #[test]
    fn legal_pairs_are_symmetric_and_complete() {
        let mut pairs = 0;
        for a in SocketType::ALL {
            for b in SocketType::ALL {
                assert_eq!(a.accepts(b), b.accepts(a), "{a} vs {b}");
                if a.accepts(b) {
                    pairs += 1;
                }
            }
        }
        // Ordered pairs: REQ-REP, REQ-ROUTER, REP-DEALER, DEALER-DEALER, DEALER-ROUTER,
        // ROUTER-ROUTER, 4 PUB/XPUB x SUB/XSUB, PUSH-PULL, PAIR-PAIR: 12 unordered,
        // 3 of which are self-pairs => 2*12 - 3 = 21 ordered.
        assert_eq!(pairs, 21);
        assert!(SocketType::Dealer.accepts(SocketType::Router));
        assert!(!SocketType::Req.accepts(SocketType::Req));
        assert!(!SocketType::Push.accepts(SocketType::Push));
        assert!(!SocketType::Pub.accepts(SocketType::Pub));
    }

    #[test]
    fn identity_senders() {
        let senders: Vec<_> = SocketType::ALL
            .into_iter()
            .filter(|t| t.sends_identity())
            .collect();
        assert_eq!(
            senders,
            [SocketType::Req, SocketType::Dealer, SocketType::Router]
        );
    }
}
