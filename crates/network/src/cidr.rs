//! IPv4 CIDR blocks: parsing, containment, overlap and carving.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 CIDR block whose host bits are zero (`10.0.0.0/16`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    base: u32,
    prefix: u8,
}

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

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

impl Cidr {
    /// `0.0.0.0/0`.
    pub const ANY: Cidr = Cidr { base: 0, prefix: 0 };

    /// A block from its base address and prefix; `None` if host bits are set or the prefix > 32.
    pub fn new(base: Ipv4Addr, prefix: u8) -> Option<Cidr> {
        let b = u32::from(base);
        (prefix <= 32 && b & !mask(prefix) == 0).then_some(Cidr { base: b, prefix })
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The first address.
    pub fn base(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.base)
    }

    /// Number of addresses.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    fn last(&self) -> u32 {
        self.base | !mask(self.prefix)
    }

    /// Whether `other` lies entirely inside this block.
    pub fn contains(&self, other: &Cidr) -> bool {
        other.prefix >= self.prefix && other.base & mask(self.prefix) == self.base
    }

    /// Whether the two blocks share any address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.base <= other.last() && other.base <= self.last()
    }

    /// The next free block of length `prefix` inside `self` at or after `cursor`, aligned on its
    /// size; returns it and the cursor after it. `None` when the space is exhausted.
    pub fn carve(&self, cursor: u64, prefix: u8) -> Option<(Cidr, u64)> {
        if prefix < self.prefix || prefix > 32 {
            return None;
        }
        let size = 1u64 << (32 - u32::from(prefix));
        let start = u64::from(self.base).max(cursor);
        let aligned = start.div_ceil(size) * size;
        let end = aligned + size;
        if end > u64::from(self.last()) + 1 {
            return None;
        }
        let base = u32::try_from(aligned).ok()?;
        Some((Cidr { base, prefix }, end))
    }
}

impl FromStr for Cidr {
    type Err = CidrError;
    fn from_str(s: &str) -> Result<Self, CidrError> {
        let (addr, len) = s.split_once('/').ok_or(CidrError::Malformed)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| CidrError::Malformed)?;
        if len.is_empty() || len.len() > 2 || !len.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CidrError::Malformed);
        }
        let prefix: u8 = len.parse().map_err(|_| CidrError::Malformed)?;
        if prefix > 32 {
            return Err(CidrError::Prefix);
        }
        let a = u32::from(addr);
        if a & !mask(prefix) != 0 {
            return Err(CidrError::HostBits(format!(
                "{}/{prefix}",
                Ipv4Addr::from(a & mask(prefix))
            )));
        }
        Ok(Cidr { base: a, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.base), self.prefix)
    }
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
