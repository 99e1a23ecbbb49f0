//! Just enough gzip (RFC 1952) and DEFLATE (RFC 1951) decoding for the leak
//! check to look inside compressed bodies. Output is capped, so a
//! decompression bomb costs at most the cap; a malformed stream yields what
//! was decoded before the fault.

/// Decodes the gzip member starting at `data[0]`, up to `cap` bytes of output.
pub fn gunzip(data: &[u8], cap: usize) -> Option<Vec<u8>> {
    if data.len() < 18 || data[0] != 0x1f || data[1] != 0x8b || data[2] != 8 {
        return None;
    }
    let flags = data[3];
    let mut pos = 10;
    if flags & 4 != 0 {
        let extra = usize::from(*data.get(pos)?) | usize::from(*data.get(pos + 1)?) << 8;
        pos += 2 + extra;
    }
    for bit in [8, 16] {
        if flags & bit != 0 {
            pos += data.get(pos..)?.iter().position(|b| *b == 0)? + 1;
        }
    }
    if flags & 2 != 0 {
        pos += 2;
    }
    let mut out = Vec::new();
    let _ = inflate(data.get(pos..)?, cap, &mut out);
    (!out.is_empty()).then_some(out)
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u32,
    count: u32,
}

impl Bits<'_> {
    fn bits(&mut self, n: u32) -> Option<u32> {
        while self.count < n {
            let byte = *self.data.get(self.pos)?;
            self.pos += 1;
            self.buf |= u32::from(byte) << self.count;
            self.count += 8;
        }
        let value = self.buf & ((1u32 << n) - 1);
        self.buf >>= n;
        self.count -= n;
        Some(value)
    }

    fn decode(&mut self, table: &Huffman) -> Option<u16> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= self.bits(1)? as i32;
            let count = i32::from(table.counts[len]);
            if code - first < count {
                return table.symbols.get((index + code - first) as usize).copied();
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        None
    }
}

/// A canonical Huffman code: how many codes of each length, and the
/// symbols in code order.
struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Self {
        let mut counts = [0u16; 16];
        for &l in lengths {
            counts[usize::from(l)] += 1;
        }
        counts[0] = 0;
        let mut offsets = [0u16; 16];
        for len in 1..15 {
            offsets[len + 1] = offsets[len] + counts[len];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (symbol, &l) in lengths.iter().enumerate() {
            if l != 0 {
                let slot = &mut offsets[usize::from(l)];
                if let Some(s) = symbols.get_mut(usize::from(*slot)) {
                    *s = symbol as u16;
                }
                *slot += 1;
            }
        }
        Self { counts, symbols }
    }
}

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
const CODE_LENGTH_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Decodes a raw DEFLATE stream into `out`, stopping at `cap` bytes.
pub fn inflate(data: &[u8], cap: usize, out: &mut Vec<u8>) -> Option<()> {
    let mut bits = Bits {
        data,
        pos: 0,
        buf: 0,
        count: 0,
    };
    loop {
        let last = bits.bits(1)? == 1;
        match bits.bits(2)? {
            0 => {
                bits.buf = 0;
                bits.count = 0;
                let at = bits.pos;
                let header = data.get(at..at + 4)?;
                let len = usize::from(u16::from_le_bytes([header[0], header[1]]));
                let block = data.get(at + 4..at + 4 + len)?;
                out.extend_from_slice(&block[..block.len().min(cap.saturating_sub(out.len()))]);
                bits.pos = at + 4 + len;
            }
            1 => {
                let mut lengths = [0u8; 288];
                lengths[..144].fill(8);
                lengths[144..256].fill(9);
                lengths[256..280].fill(7);
                lengths[280..].fill(8);
                let lit = Huffman::new(&lengths);
                let dist = Huffman::new(&[5u8; 30]);
                block(&mut bits, &lit, &dist, cap, out)?;
            }
            2 => {
                let (lit, dist) = dynamic_tables(&mut bits)?;
                block(&mut bits, &lit, &dist, cap, out)?;
            }
            _ => return None,
        }
        if last || out.len() >= cap {
            return Some(());
        }
    }
}

fn dynamic_tables(bits: &mut Bits<'_>) -> Option<(Huffman, Huffman)> {
    let nlen = bits.bits(5)? as usize + 257;
    let ndist = bits.bits(5)? as usize + 1;
    let ncode = bits.bits(4)? as usize + 4;
    let mut code_lengths = [0u8; 19];
    for &i in CODE_LENGTH_ORDER.iter().take(ncode) {
        code_lengths[i] = bits.bits(3)? as u8;
    }
    let code = Huffman::new(&code_lengths);
    let mut lengths = vec![0u8; nlen + ndist];
    let mut i = 0;
    while i < nlen + ndist {
        let symbol = bits.decode(&code)?;
        let (value, repeat) = match symbol {
            0..=15 => (symbol as u8, 1),
            16 => (*lengths.get(i.checked_sub(1)?)?, 3 + bits.bits(2)? as usize),
            17 => (0, 3 + bits.bits(3)? as usize),
            18 => (0, 11 + bits.bits(7)? as usize),
            _ => return None,
        };
        for _ in 0..repeat {
            *lengths.get_mut(i)? = value;
            i += 1;
        }
    }
    Some((
        Huffman::new(&lengths[..nlen]),
        Huffman::new(&lengths[nlen..]),
    ))
}

fn block(
    bits: &mut Bits<'_>,
    lit: &Huffman,
    dist: &Huffman,
    cap: usize,
    out: &mut Vec<u8>,
) -> Option<()> {
    loop {
        if out.len() >= cap {
            return Some(());
        }
        let symbol = bits.decode(lit)?;
        match symbol {
            0..=255 => out.push(symbol as u8),
            256 => return Some(()),
            _ => {
                let i = usize::from(symbol - 257);
                let len = usize::from(*LENGTH_BASE.get(i)?)
                    + bits.bits(u32::from(LENGTH_EXTRA[i]))? as usize;
                let d = usize::from(bits.decode(dist)?);
                let back =
                    usize::from(*DIST_BASE.get(d)?) + bits.bits(u32::from(DIST_EXTRA[d]))? as usize;
                let start = out.len().checked_sub(back)?;
                for k in 0..len.min(cap.saturating_sub(out.len())) {
                    out.push(out[start + k]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn stored_fixed_and_dynamic_blocks_decode() {
        // Python's gzip.compress of the same text at level 0 and level 9.
        let stored = [
            31, 139, 8, 0, 0, 0, 0, 0, 4, 3, 1, 17, 0, 238, 255, 115, 104, 111, 114, 116, 32, 115,
            101, 99, 114, 101, 116, 32, 116, 101, 120, 116, 254, 225, 254, 130, 17, 0, 0, 0,
        ];
        let fixed = [
            31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 43, 206, 200, 47, 42, 81, 40, 78, 77, 46, 74, 45, 81,
            40, 73, 173, 40, 1, 0, 254, 225, 254, 130, 17, 0, 0, 0,
        ];
        assert_eq!(gunzip(&stored, 1 << 20).unwrap(), b"short secret text");
        assert_eq!(gunzip(&fixed, 1 << 20).unwrap(), b"short secret text");
        let dynamic = hex(
            "1f8b08000000000002035dd34b8a03310c84e1abe408964ae5c7620e3381dea5378199f3076279515afe3458fa70fbbeeee7f56e3fffbfafbfab3dee6fdace91e93b2d133b6766ecf44cee5c997d2732471e7526cddd91b9f2f31965b9184fe76676a659eed64fa348422946b558578c0dd5d8548e2df5782b203715b9179243491e85e454927725f928b73395e44b49684a822909ae24a090104a020b095d49188584a9242c254553529892c2cb2f0725452829a8a4e885144349310b299692d80a89a624ba9208253194442a89bd3ca3a1244e25f13c95f601c77c6f95c2030000",
        );
        let want: Vec<String> = (0..60)
            .map(|i| format!("member{i}=value{}", i * 7 % 13))
            .collect();
        assert_eq!(
            gunzip(&dynamic, 1 << 20).unwrap(),
            want.join(" ").as_bytes()
        );
        // The cap holds, and a truncated stream gives what came before.
        assert_eq!(gunzip(&dynamic, 100).unwrap().len(), 100);
        assert!(gunzip(&dynamic[..60], 1 << 20).is_some_and(|d| d.len() < 962));
        assert_eq!(gunzip(b"not gzip at all, not at all", 100), None);
    }
}
