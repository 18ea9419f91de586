//! What the interoperability tests (against libzmq) share: the transports they run
//! over, endpoints that clean up after themselves, and which implementation plays a
//! role.

use std::path::PathBuf;

/// A transport both implementations speak between processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Ipc,
}

/// An endpoint to bind to. For ipc it owns a unique socket path and removes the file
/// when dropped.
pub struct BindAddr {
    pub addr: String,
    ipc_path: Option<PathBuf>,
}

impl BindAddr {
    pub fn new(transport: Transport) -> BindAddr {
        match transport {
            Transport::Tcp => BindAddr {
                addr: "tcp://127.0.0.1:*".into(),
                ipc_path: None,
            },
            Transport::Ipc => {
                let name = super::unique("ferrozmq-interop");
                let path = std::env::temp_dir().join(format!("{name}.ipc"));
                let _ = std::fs::remove_file(&path);
                BindAddr {
                    addr: format!("ipc://{}", path.display()),
                    ipc_path: Some(path),
                }
            }
        }
    }
}

impl Drop for BindAddr {
    fn drop(&mut self) {
        if let Some(path) = &self.ipc_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Which implementation plays a role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    Ferro,
    Zmq,
}

impl Impl {
    pub fn other(self) -> Impl {
        match self {
            Impl::Ferro => Impl::Zmq,
            Impl::Zmq => Impl::Ferro,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Impl::Ferro => "ferrozmq",
            Impl::Zmq => "libzmq",
        }
    }
}
