//! Helpers shared by the core integration tests.

/// Deterministic xorshift64, so failures reproduce.
#[allow(dead_code)] // not every test binary uses every helper
pub struct Rng(pub u64);

#[allow(dead_code)]
impl Rng {
    /// The next pseudo-random value.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The files under `root` as key -> bytes (keys relative to `root`, `/`-separated).
#[allow(dead_code)] // not every test binary uses every helper
pub fn load_tree(root: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let key = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(key, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}
