//! The listing plan: which prefixes of the bucket to list, so that a front
//! end never scans the whole bucket. It starts at `[prefix/]AWSLogs/`, learns
//! accounts, organization ids and regions from delimiter listings, and then
//! lists only the day folders of the window (digests, then the logs of the
//! chains the digests show are selected), logs with `start-after`. Without a window (a local copy's default range) it lists each
//! selected region folder whole.
//!
//! The front end runs the requests (in any order, concurrently if it
//! likes) and hands each response back; new requests may follow from it.
//!
//! ```text
//! while let Some(req) = listing.next_request() {
//!     let resp = front_end_list(&req);          // S3 ListObjectsV2, a directory walk…
//!     listing.accept(&req, resp);
//! }
//! let keys = listing.into_keys();               // feed Driver::plan
//! ```

use super::bounds::{
    LOAD_MARGIN, MAX_DISCOVERY_ENTRIES, MAX_DISCOVERY_FOLDERS, MAX_PREFIX_DEPTH, MAX_TRAIL_PREFIX_LEN,
};
use super::error::ListingError;
use super::options::Options;
use crate::layout::DigestKeyName;
use crate::time::{Timestamp, HOUR};
use std::collections::{BTreeSet, VecDeque};

/// One listing to run: keys under `prefix`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ListRequest {
    /// Key prefix (ends with `/`, or is empty for the bucket root).
    pub prefix: String,
    /// List with delimiter `/`: report the next level's folders as
    /// `prefixes` instead of every key below.
    pub delimiter: bool,
    /// Only keys after this one (S3 `start-after`), when known.
    pub start_after: Option<String>,
    /// At most this many entries (keys and folders) are of use: a listing
    /// that has more may stop with an error instead (a folder searched for
    /// `AWSLogs/` that holds a data lake). `None`: the front end's own cap.
    pub max_entries: Option<usize>,
}

impl ListRequest {
    /// The answer S3's `ListObjectsV2` would give over an in-memory set of
    /// object keys (a front end that holds its key list, such as a browser
    /// given a dropped folder): `keys` sorted, those under `prefix` after
    /// `start_after`, folded at the next `/` with a delimiter. Keys that
    /// are not objects (metadata sidecars) must be left out by the caller.
    pub fn answer<'a>(&self, sorted_keys: impl IntoIterator<Item = &'a str>) -> ListResponse {
        self.answer_keys(sorted_keys)
    }

    /// [`answer`](Self::answer) over a sorted slice of keys: only the keys
    /// under the prefix are read (found by binary search), so answering
    /// every request of a plan does not scan the whole key list each time.
    pub fn answer_sorted<S: AsRef<str>>(&self, sorted_keys: &[S]) -> ListResponse {
        let prefix = self.prefix.as_str();
        let from = sorted_keys.partition_point(|k| k.as_ref() < prefix);
        self.answer_keys(
            sorted_keys[from..]
                .iter()
                .map(AsRef::as_ref)
                .take_while(|k| k.starts_with(prefix)),
        )
    }

    fn answer_keys<'a>(&self, sorted_keys: impl IntoIterator<Item = &'a str>) -> ListResponse {
        let mut resp = ListResponse::default();
        for key in sorted_keys {
            let Some(rest) = key.strip_prefix(self.prefix.as_str()) else {
                continue;
            };
            if self.start_after.as_deref().is_some_and(|a| key <= a) {
                continue;
            }
            match rest.find('/') {
                Some(i) if self.delimiter => {
                    let p = &key[..self.prefix.len() + i + 1];
                    if resp.prefixes.last().map(String::as_str) != Some(p) {
                        resp.prefixes.push(p.to_string());
                    }
                }
                _ => resp.keys.push(key.to_string()),
            }
        }
        resp
    }
}

/// What a listing returned (every page of it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListResponse {
    /// Object keys.
    pub keys: Vec<String>,
    /// Common prefixes (folders) — only for delimiter listings.
    pub prefixes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// Searching for `AWSLogs/` below a prefix of this depth.
    Root(usize),
    /// `…/AWSLogs/`: accounts and organization ids.
    Accounts,
    /// `…/AWSLogs/o-…/`: member accounts.
    OrgAccounts,
    /// `…/ACCOUNT/CloudTrail-Digest/`: regions.
    Regions,
    /// Digest objects (a day folder, or a whole region folder).
    Digests,
    /// Log objects (a day folder, or a whole region folder).
    Logs,
}

/// The listing plan of one run (see the module docs); the
/// [`super::Driver`] runs it.
#[derive(Debug)]
pub(super) struct Listing {
    opts: Options,
    queue: VecDeque<(ListRequest, Purpose)>,
    in_flight: Vec<(ListRequest, Purpose)>,
    keys: BTreeSet<String>,
    /// Region folders of digests (`…/CloudTrail-Digest/REGION/`) listed.
    digest_regions: Vec<String>,
    logs_planned: bool,
    /// Folders listed (or queued) by prefix discovery.
    discovery_folders: usize,
    error: Option<ListingError>,
}

impl Listing {
    /// The plan for `opts`: the root is `PREFIX/AWSLogs/` with
    /// `--s3-prefix`, else the bucket root is searched for `AWSLogs/`.
    pub(super) fn new(opts: &Options) -> Listing {
        let mut l = Listing {
            opts: opts.clone(),
            queue: VecDeque::new(),
            in_flight: vec![],
            keys: BTreeSet::new(),
            digest_regions: vec![],
            logs_planned: false,
            discovery_folders: 0,
            error: None,
        };
        match &opts.prefix {
            Some(p) if !p.is_empty() => l.push(format!("{p}/AWSLogs/"), true, Purpose::Accounts),
            Some(_) => l.push("AWSLogs/".to_string(), true, Purpose::Accounts),
            None => {
                l.discovery_folders = 1;
                l.push(String::new(), true, Purpose::Root(0));
            }
        }
        l
    }

    fn push(&mut self, prefix: String, delimiter: bool, purpose: Purpose) {
        self.push_after(prefix, delimiter, None, purpose);
    }

    fn push_after(&mut self, prefix: String, delimiter: bool, start_after: Option<String>, purpose: Purpose) {
        let max_entries = matches!(purpose, Purpose::Root(_)).then_some(MAX_DISCOVERY_ENTRIES);
        self.queue.push_back((
            ListRequest {
                prefix,
                delimiter,
                start_after,
                max_entries,
            },
            purpose,
        ));
    }

    /// The next listing to run, if any. Several may be taken before their
    /// responses come back. `None` with requests still in flight means
    /// "wait for them"; `None` when [`is_done`](Self::is_done): finished.
    pub(super) fn next_request(&mut self) -> Option<ListRequest> {
        if self.error.is_some() {
            return None;
        }
        if self.queue.is_empty() && self.in_flight.is_empty() && !self.logs_planned {
            self.plan_logs();
        }
        let (req, purpose) = self.queue.pop_front()?;
        self.in_flight.push((req.clone(), purpose));
        Some(req)
    }

    /// True when every listing has been run and answered.
    pub(super) fn is_done(&mut self) -> bool {
        if self.error.is_some() {
            return true;
        }
        if self.queue.is_empty() && self.in_flight.is_empty() && !self.logs_planned {
            self.plan_logs();
        }
        self.queue.is_empty() && self.in_flight.is_empty()
    }

    /// The response to `req` (a request from
    /// [`next_request`](Self::next_request)); false when `req` is not in
    /// flight (nothing is taken from the answer then).
    pub(super) fn accept(&mut self, req: &ListRequest, resp: ListResponse) -> bool {
        let Some(pos) = self.in_flight.iter().position(|(r, _)| r == req) else {
            return false;
        };
        let (_, purpose) = self.in_flight.swap_remove(pos);
        match purpose {
            Purpose::Root(depth) => {
                for p in resp.prefixes {
                    if p == "AWSLogs/" || p.ends_with("/AWSLogs/") {
                        self.push(p, true, Purpose::Accounts);
                    } else if depth + 1 < MAX_PREFIX_DEPTH && p.len() <= MAX_TRAIL_PREFIX_LEN + 1 {
                        // `p` without its `/` is the shortest prefix whose
                        // `AWSLogs/` folder could be inside it.
                        if self.discovery_folders >= MAX_DISCOVERY_FOLDERS {
                            self.fail(ListingError::DiscoveryTooWide);
                            return true;
                        }
                        self.discovery_folders += 1;
                        self.push(p, true, Purpose::Root(depth + 1));
                    }
                }
            }
            Purpose::Accounts => {
                for p in resp.prefixes {
                    let name = last_segment(&p);
                    if is_org_id(name) {
                        self.push(p, true, Purpose::OrgAccounts);
                    } else if self.account_selected(name, false) {
                        self.push(format!("{p}CloudTrail-Digest/"), true, Purpose::Regions);
                    }
                }
            }
            Purpose::OrgAccounts => {
                for p in resp.prefixes {
                    if self.account_selected(last_segment(&p), true) {
                        self.push(format!("{p}CloudTrail-Digest/"), true, Purpose::Regions);
                    }
                }
            }
            Purpose::Regions => {
                for p in resp.prefixes {
                    let region = last_segment(&p);
                    if self.opts.regions.is_empty() || self.opts.regions.iter().any(|r| r == region) {
                        self.digest_regions.push(p.clone());
                        self.push_days(&p, Purpose::Digests);
                    }
                }
            }
            Purpose::Digests | Purpose::Logs => self.keys.extend(resp.keys),
        }
        true
    }

    fn fail(&mut self, e: ListingError) {
        self.error = Some(e);
        self.queue.clear();
    }

    /// Account `name` may hold a selected chain.
    fn account_selected(&self, name: &str, in_org: bool) -> bool {
        if !(name.len() == 12 && name.bytes().all(|b| b.is_ascii_digit())) {
            return false;
        }
        if !self.opts.accounts.is_empty() {
            return self.opts.accounts.iter().any(|a| a == name);
        }
        match &self.opts.trail {
            // An organization trail delivers under every member account.
            Some(t) if !in_org => t.account == name,
            _ => true,
        }
    }

    /// Lists `folder` (a region folder ending in `/`) day by day over the
    /// load window, or whole without a window.
    fn push_days(&mut self, folder: &str, purpose: Purpose) {
        let (Some(start), Some(end)) = self.opts.listing_window() else {
            self.push(folder.to_string(), false, purpose);
            return;
        };
        let from = start.add_secs(-LOAD_MARGIN);
        let to = end.add_secs(LOAD_MARGIN + HOUR);
        let mut day = Timestamp::from_unix(from.unix().div_euclid(86_400) * 86_400);
        let mut first = true;
        while day <= to {
            let prefix = format!("{folder}{}/", day.date_folders());
            // Log names sort by time whatever the trail
            // (`ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_…`), so the first day
            // starts after the window's first minute. Digest names carry
            // the trail name before the time: other trails in the folder
            // (whose digests say which logs are theirs) would be cut.
            let start_after = match (purpose, first) {
                (Purpose::Logs, true) => log_name_stem(&prefix).map(|s| format!("{s}{}", &from.key_form()[..13])),
                _ => None,
            };
            self.push_after(prefix, false, start_after, purpose);
            day = day.add_secs(86_400);
            first = false;
        }
    }

    /// Once the digests are listed: the log folders of the (account,
    /// region) roots that hold a selected chain.
    fn plan_logs(&mut self) {
        self.logs_planned = true;
        let mut roots = BTreeSet::new();
        for key in &self.keys {
            if let Some(n) = DigestKeyName::parse(key) {
                if self.opts.selects(&n.chain) {
                    roots.insert(n.chain.log_folder());
                }
            }
        }
        for folder in roots {
            self.push_days(&folder, Purpose::Logs);
        }
    }

    /// Every object key the listings found (digests and logs), sorted: the
    /// input of the plan; an error when the listing stopped
    /// (nothing may then be judged from a partial listing).
    pub(super) fn into_keys(self) -> Result<Vec<String>, ListingError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.keys.into_iter().collect()),
        }
    }
}

/// `FOLDER/ACCOUNT_CloudTrail_REGION_` for a log day folder
/// `…/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`.
fn log_name_stem(day_folder: &str) -> Option<String> {
    let parts: Vec<&str> = day_folder.trim_end_matches('/').split('/').collect();
    let n = parts.len();
    if n < 6 || parts[n - 5] != "CloudTrail" {
        return None;
    }
    let (account, region) = (parts[n - 6], parts[n - 4]);
    Some(format!("{day_folder}{account}_CloudTrail_{region}_"))
}

fn last_segment(prefix: &str) -> &str {
    prefix.trim_end_matches('/').rsplit('/').next().unwrap_or_default()
}

fn is_org_id(s: &str) -> bool {
    s.len() > 2 && s.starts_with("o-") && s[2..].bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_sorted_is_answer_over_the_whole_list() {
        let keys = ["a/1", "a/b/2", "a/b/3", "a/c/4", "ab/5", "b/6"];
        let req = |prefix: &str, delimiter, after: Option<&str>| ListRequest {
            prefix: prefix.to_string(),
            delimiter,
            start_after: after.map(str::to_string),
            max_entries: None,
        };
        for prefix in ["", "a/", "a/b/", "ab/", "b/", "c/", "a"] {
            for delimiter in [false, true] {
                for start_after in [None, Some("a/b/2")] {
                    let r = req(prefix, delimiter, start_after);
                    assert_eq!(
                        r.answer_sorted(&keys),
                        r.answer(keys),
                        "{prefix} {delimiter} {start_after:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn answer_follows_list_objects_v2() {
        let keys = ["a/1", "a/b/2", "a/b/3", "a/c/4", "b/5"];
        let req = |prefix: &str, delimiter, after: Option<&str>| ListRequest {
            prefix: prefix.to_string(),
            delimiter,
            start_after: after.map(str::to_string),
            max_entries: None,
        };
        let r = req("a/", true, None).answer(keys);
        assert_eq!(
            (r.keys, r.prefixes),
            (vec!["a/1".to_string()], vec!["a/b/".to_string(), "a/c/".to_string()])
        );
        let r = req("a/", false, Some("a/b/2")).answer(keys);
        assert_eq!(r.keys, ["a/b/3", "a/c/4"]);
        assert!(r.prefixes.is_empty());
    }

    /// Runs the plan over `keys`: (the keys or the error, the prefixes listed).
    fn discover(keys: &[String]) -> (Result<Vec<String>, ListingError>, Vec<String>) {
        let mut sorted: Vec<&str> = keys.iter().map(String::as_str).collect();
        sorted.sort();
        let mut listing = Listing::new(&Options::new(Timestamp::from_unix(0)));
        let mut listed = vec![];
        while let Some(req) = listing.next_request() {
            listed.push(req.prefix.clone());
            let resp = req.answer(sorted.iter().copied());
            listing.accept(&req, resp);
        }
        assert!(listing.is_done());
        (listing.into_keys(), listed)
    }

    const DIGEST: &str = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/01/\
        111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20240301T001728Z.json.gz";

    #[test]
    fn discovery_finds_a_deep_prefix() {
        let key = format!("a/b/c/d/e/f/g/h/i/j/{DIGEST}");
        let (keys, _) = discover(&[key.clone(), "other/x".into()]);
        assert_eq!(keys, Ok(vec![key]));
    }

    #[test]
    fn discovery_is_bounded_in_width() {
        let mut keys: Vec<String> = (0..MAX_DISCOVERY_FOLDERS)
            .map(|i| format!("lake/p{i:04}/data"))
            .collect();
        keys.push(format!("logs/{DIGEST}"));
        let (found, listed) = discover(&keys);
        assert_eq!(found, Err(ListingError::DiscoveryTooWide));
        assert!(listed.len() <= MAX_DISCOVERY_FOLDERS, "{} listings", listed.len());
        // Just under the bound: found.
        keys.drain(..10);
        assert!(discover(&keys).0.is_ok_and(|k| k.len() == 1));
    }

    #[test]
    fn discovery_never_lists_a_folder_too_long_for_a_prefix() {
        let long = "x".repeat(MAX_TRAIL_PREFIX_LEN + 1);
        let (found, listed) = discover(&[format!("{long}/{DIGEST}")]);
        assert_eq!(found, Ok(vec![]));
        assert_eq!(listed, vec![String::new()]);
        let fits = "x".repeat(MAX_TRAIL_PREFIX_LEN);
        assert_eq!(discover(&[format!("{fits}/{DIGEST}")]).0.map(|k| k.len()), Ok(1));
    }
}
