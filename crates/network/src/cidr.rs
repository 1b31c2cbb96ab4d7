//! IPv4 CIDR blocks: parsing (with the block meant when host bits are set), containment,
//! overlap and carving, on `ipnet`.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use ipnet::{Ipv4Net, Ipv6Net};

/// An IPv4 CIDR block whose host bits are zero (`10.0.0.0/16`), over [`ipnet::Ipv4Net`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr(Ipv4Net);

/// Why a string is not a valid CIDR block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CidrError {
    /// Not `a.b.c.d/n`.
    Malformed,
    /// The prefix length is over 32.
    Prefix,
    /// Bits are set past the prefix (`10.0.0.1/16`); carries the block it probably meant.
    HostBits(String),
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CidrError::Malformed => write!(f, "not an IPv4 CIDR block (a.b.c.d/n)"),
            CidrError::Prefix => write!(f, "prefix length must be 0 to 32"),
            CidrError::HostBits(b) => write!(f, "host bits are set; did you mean {b}?"),
        }
    }
}

impl Cidr {
    /// `0.0.0.0/0`.
    pub const ANY: Cidr = Cidr(Ipv4Net::new_assert(Ipv4Addr::UNSPECIFIED, 0));

    /// A block from its base address and prefix; `None` if host bits are set or the prefix > 32.
    pub fn new(base: Ipv4Addr, prefix: u8) -> Option<Cidr> {
        let net = Ipv4Net::new(base, prefix).ok()?;
        (net.network() == base).then_some(Cidr(net))
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.0.prefix_len()
    }

    /// The first address.
    pub fn base(&self) -> Ipv4Addr {
        self.0.network()
    }

    /// Number of addresses.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix()))
    }

    /// The block as an [`ipnet::Ipv4Net`].
    pub fn net(&self) -> Ipv4Net {
        self.0
    }

    /// Whether `other` lies entirely inside this block.
    pub fn contains(&self, other: &Cidr) -> bool {
        self.0.contains(&other.0)
    }

    /// Whether the two blocks share any address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.0.contains(&other.0) || other.0.contains(&self.0)
    }

    /// The next free block of length `prefix` inside `self` at or after `cursor`, aligned on its
    /// size; returns it and the cursor after it. `None` when the space is exhausted.
    pub fn carve(&self, cursor: u64, prefix: u8) -> Option<(Cidr, u64)> {
        let first = self
            .0
            .subnets(prefix)
            .ok()?
            .find(|s| u64::from(u32::from(s.network())) >= cursor)?;
        let end = u64::from(u32::from(first.broadcast())) + 1;
        Some((Cidr(first), end))
    }
}

impl FromStr for Cidr {
    type Err = CidrError;
    fn from_str(s: &str) -> Result<Self, CidrError> {
        let (addr, len) = s.split_once('/').ok_or(CidrError::Malformed)?;
        if len.is_empty() || len.len() > 2 || !len.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CidrError::Malformed);
        }
        let addr: Ipv4Addr = addr.parse().map_err(|_| CidrError::Malformed)?;
        let prefix: u8 = len.parse().map_err(|_| CidrError::Malformed)?;
        let net = Ipv4Net::new(addr, prefix).map_err(|_| CidrError::Prefix)?;
        if net.network() != addr {
            return Err(CidrError::HostBits(net.trunc().to_string()));
        }
        Ok(Cidr(net))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Whether `s` is an IPv6 CIDR block (`::/0`, `2001:db8::/32`).
pub fn is_ipv6_block(s: &str) -> bool {
    s.parse::<Ipv6Net>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn parse_and_reject() {
        assert_eq!(c("10.0.0.0/16").to_string(), "10.0.0.0/16");
        assert_eq!("10.0.0/16".parse::<Cidr>(), Err(CidrError::Malformed));
        assert_eq!("10.0.0.0/33".parse::<Cidr>(), Err(CidrError::Prefix));
        assert_eq!("10.0.0.0/+8".parse::<Cidr>(), Err(CidrError::Malformed));
        assert_eq!(
            "10.0.0.1/16".parse::<Cidr>(),
            Err(CidrError::HostBits("10.0.0.0/16".into()))
        );
    }

    #[test]
    fn ipv6_blocks() {
        assert!(is_ipv6_block("::/0") && is_ipv6_block("2001:db8::/32"));
        assert!(!is_ipv6_block("2001:db8::/129") && !is_ipv6_block("2001:db8::"));
    }

    #[test]
    fn carving_is_aligned_and_bounded() {
        let vpc = c("10.0.0.0/16");
        let (a, cur) = vpc.carve(0, 24).unwrap();
        assert_eq!(a, c("10.0.0.0/24"));
        let (b, cur) = vpc.carve(cur, 22).unwrap();
        assert_eq!(b, c("10.0.4.0/22"));
        let (d, _) = vpc.carve(cur, 24).unwrap();
        assert_eq!(d, c("10.0.8.0/24"));
        assert!(vpc.contains(&d) && !a.overlaps(&b) && c("10.0.0.0/22").overlaps(&a));
        assert!(vpc.carve(0, 15).is_none());
        assert!(
            c("10.0.0.0/24")
                .carve(0, 25)
                .and_then(|(_, n)| c("10.0.0.0/24").carve(n, 25))
                .and_then(|(_, n)| c("10.0.0.0/24").carve(n, 25))
                .is_none()
        );
    }
}
