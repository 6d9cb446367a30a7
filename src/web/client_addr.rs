//! The client address of a request: the TCP peer, or, when the peer is a trusted reverse proxy,
//! the address the proxies report in `Forwarded` (RFC 7239) or else `X-Forwarded-For`, read from
//! the right past every trusted hop. A header from any other peer is ignored: clients can write
//! it themselves.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap, header};

use crate::config::ProxyNet;

/// The client address of a request whose connect info is in `extensions`, as text ("unknown"
/// without connect info).
pub fn client_addr(extensions: &Extensions, headers: &HeaderMap, trusted: &[ProxyNet]) -> String {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    match peer {
        Some(peer) => resolve(peer, headers, trusted).to_string(),
        None => "unknown".to_owned(),
    }
}

fn is_trusted(ip: IpAddr, trusted: &[ProxyNet]) -> bool {
    trusted.iter().any(|n| n.contains(ip))
}

/// The client behind `peer`: walks the forwarded addresses from the nearest hop back and stops
/// at the first one that is not a trusted proxy. An entry that is not an address (`unknown`, an
/// obfuscated name) ends the walk at the last trusted hop.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[ProxyNet]) -> IpAddr {
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let hops = forwarded_for(headers).unwrap_or_else(|| x_forwarded_for(headers));
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop {
            Some(ip) => {
                client = *ip;
                if !is_trusted(*ip, trusted) {
                    break;
                }
            }
            None => break,
        }
    }
    client
}

/// The `for=` addresses of every `Forwarded` element, in order; `None` without the header.
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let values: Vec<&str> = headers
        .get_all(header::FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return None;
    }
    let mut hops = Vec::new();
    for element in values.iter().flat_map(|v| v.split(',')) {
        let node = element.split(';').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            k.trim().eq_ignore_ascii_case("for").then(|| v.trim())
        });
        if let Some(node) = node {
            hops.push(parse_node(node.trim_matches('"')));
        }
    }
    Some(hops)
}

/// The addresses of every `X-Forwarded-For` header, in order.
fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().ok())
        .flat_map(|v| v.unwrap_or("unknown").split(',').collect::<Vec<_>>())
        .map(|node| parse_node(node.trim()))
        .collect()
}

/// An address with or without a port: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]:4711`,
/// `2001:db8::1`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = node.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    node.strip_prefix('[')
        .and_then(|rest| rest.split(']').next())
        .and_then(|inner| inner.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn nets(list: &[&str]) -> Vec<ProxyNet> {
        list.iter()
            .filter_map(|s| ProxyNet::parse(s).ok())
            .collect()
    }

    #[test]
    fn the_header_of_an_untrusted_peer_is_ignored() {
        let h = headers(&[("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(
            resolve(ip("198.51.100.1"), &h, &nets(&["10.0.0.1"])),
            ip("198.51.100.1")
        );
        assert_eq!(resolve(ip("198.51.100.1"), &h, &[]), ip("198.51.100.1"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_a_forged_left_part_is_skipped() {
        let trusted = nets(&["10.0.0.0/8"]);
        // The client forged "1.1.1.1"; the proxy appended the address it saw.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.7")]);
        assert_eq!(resolve(ip("10.0.0.5"), &h, &trusted), ip("203.0.113.7"));
        // Two trusted hops.
        let h = headers(&[("x-forwarded-for", "203.0.113.7, 10.9.9.9")]);
        assert_eq!(resolve(ip("10.0.0.5"), &h, &trusted), ip("203.0.113.7"));
        // Split over two header lines.
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.7"),
            ("x-forwarded-for", "10.9.9.9"),
        ]);
        assert_eq!(resolve(ip("10.0.0.5"), &h, &trusted), ip("203.0.113.7"));
        // No header: the proxy itself.
        assert_eq!(
            resolve(ip("10.0.0.5"), &HeaderMap::new(), &trusted),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn forwarded_wins_and_reads_ports_quotes_and_ipv6() {
        let trusted = nets(&["127.0.0.1"]);
        let h = headers(&[
            ("forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43"),
            ("x-forwarded-for", "198.51.100.9"),
        ]);
        assert_eq!(resolve(ip("127.0.0.1"), &h, &trusted), ip("192.0.2.60"));
        let h = headers(&[("forwarded", "for=\"[2001:db8:cafe::17]:4711\"")]);
        assert_eq!(
            resolve(ip("127.0.0.1"), &h, &trusted),
            ip("2001:db8:cafe::17")
        );
        let h = headers(&[("forwarded", "For=192.0.2.43:80, for=198.51.100.17")]);
        assert_eq!(resolve(ip("127.0.0.1"), &h, &trusted), ip("198.51.100.17"));
    }

    #[test]
    fn an_unreadable_hop_stops_at_the_last_trusted_one() {
        let trusted = nets(&["10.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "203.0.113.7, unknown, 10.1.1.1")]);
        assert_eq!(resolve(ip("10.0.0.5"), &h, &trusted), ip("10.1.1.1"));
        let h = headers(&[("forwarded", "for=_hidden")]);
        assert_eq!(resolve(ip("10.0.0.5"), &h, &trusted), ip("10.0.0.5"));
    }
}
