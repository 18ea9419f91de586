//! A bound tcp or ipc endpoint: accepts connections and spawns a [`Connection`] for each.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::sync::Arc;

use ferrozmq_reactor::{mio, Cx, Handler, Notifier};

use crate::connection::{Connection, SocketLink, StopFlag};
use crate::monitor::{EventKind, SocketEvent};
use crate::stream::Listener;

pub(crate) struct ListenerHandler {
    pub(crate) listener: Listener,
    pub(crate) endpoint: String,
    pub(crate) socket: SocketLink,
    pub(crate) stop: Arc<StopFlag>,
    pub(crate) notifier: Notifier,
    /// The socket file to remove when the listener goes (ipc only).
    pub(crate) ipc_path: Option<PathBuf>,
    /// Notifiers of accepted connections, to tell them about an unbind.
    pub(crate) accepted: Vec<Notifier>,
}

impl ListenerHandler {
    fn remember(&mut self, notifier: Notifier) {
        // Forget connections that have ended, so the list tracks live ones only.
        if self.accepted.len() >= 64 && self.accepted.len().is_power_of_two() {
            self.accepted.retain(Notifier::is_bound);
        }
        self.accepted.push(notifier);
    }

    /// On unbind, accepted connections close too (as libzmq's do); on socket close they
    /// stay to deliver within the linger period.
    fn stop_accepted(&mut self) {
        if self.stop.is_raised() {
            for n in self.accepted.drain(..) {
                n.notify();
            }
        }
    }

    fn should_stop(&self) -> bool {
        self.stop.is_raised() || self.socket.inbox.is_closed()
    }

    fn accept_all(&mut self, cx: &mut Cx<'_>) {
        loop {
            match self.listener.accept() {
                Ok(stream) => {
                    let notifier = cx.handle().notifier();
                    self.remember(notifier.clone());
                    cx.spawn(Box::new(Connection::accepted(
                        stream,
                        self.stop.clone(),
                        self.endpoint.clone(),
                        self.socket.clone(),
                        notifier,
                    )));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Typically EMFILE: the pending connection stays queued in the kernel
                    // and the next readiness event retries it.
                    self.socket.monitor.report(
                        SocketEvent::new(EventKind::AcceptFailed, &self.endpoint)
                            .value(e.raw_os_error().unwrap_or(0) as u32)
                            .detail(e.to_string()),
                    );
                    return;
                }
            }
        }
    }
}

impl Handler for ListenerHandler {
    fn start(&mut self, cx: &mut Cx<'_>) {
        cx.bind(&self.notifier);
        if self.should_stop() {
            self.stop_accepted();
            cx.close();
            return;
        }
        if let Err(e) =
            cx.registry()
                .register(&mut self.listener, cx.token(), mio::Interest::READABLE)
        {
            self.socket
                .monitor
                .record(EventKind::Closed, &self.endpoint, e.to_string());
            cx.close();
            return;
        }
        self.accept_all(cx);
    }

    fn ready(&mut self, cx: &mut Cx<'_>, _event: &mio::event::Event) {
        if self.should_stop() {
            self.stop_accepted();
            cx.close();
            return;
        }
        self.accept_all(cx);
    }

    fn wake(&mut self, cx: &mut Cx<'_>) {
        if self.should_stop() {
            self.stop_accepted();
            cx.close();
        }
    }
}

impl Drop for ListenerHandler {
    fn drop(&mut self) {
        self.socket.monitor.report(
            SocketEvent::new(EventKind::Closed, &self.endpoint)
                .value(self.listener.raw_fd() as u32),
        );
        if let Some(path) = &self.ipc_path {
            // Someone else may have replaced the file; nothing to do about that here.
            let _ = std::fs::remove_file(path);
        }
    }
}
