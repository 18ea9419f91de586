//! Publish-subscribe: PUB/XPUB fan out by prefix, SUB/XSUB subscribe and receive.
//!
//! Both halves speak the same in-pipe language: a subscription is a one-frame message
//! `01` + prefix, a cancel `00` + prefix. That is ZMTP 3.0's wire form, which keeps
//! inproc peers and both protocol versions on one code path; transports translate to and
//! from ZMTP 3.1's SUBSCRIBE/CANCEL commands.

mod publish;
mod subscribe;
mod trie;

pub use publish::Xpub;
pub use subscribe::Xsub;
