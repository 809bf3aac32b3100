//! Free TCP ports on the loopback interface.

use std::net::{Ipv4Addr, TcpListener};

/// Returns a TCP port on `127.0.0.1` that was free a moment ago.
///
/// The port is found by binding `127.0.0.1:0` and asking the operating
/// system which port it chose; the listener is closed before returning.
/// Another process could take the port before the caller binds it, which is
/// unlikely enough for tests.
pub fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_port_can_be_bound() {
        let port = free_port().expect("a free port");
        assert_ne!(port, 0);
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("the port is free");
    }
}
