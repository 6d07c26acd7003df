//! Realistic CloudTrail records for `bench-data --realistic`.
//!
//! One account's activity: a fixed "world" of roles and their sessions, IAM
//! users, buckets, KMS keys, instances, tables and functions, and a weighted
//! mix of the API calls that dominate real trails (S3 data events, KMS,
//! DynamoDB, STS, EC2, Lambda, SSM, Secrets Manager, CloudWatch). Each record
//! carries the usual per-event entropy (event and request ids, times, object
//! keys, S3 `x-amz-id-2`, the occasional STS session token), so records
//! average about 1.5 KB (an AssumedRole identity alone is ~500 bytes) and
//! large logs compress about 10.4:1 with gzip level 6 (small ones less),
//! like real CloudTrail logs. Deterministic: everything comes from
//! [`SplitMix64`].

use std::fmt::Write as _;

use crate::prng::SplitMix64 as Prng;
use crate::time::iso;

/// Uncompressed bytes per compressed byte of a generated log (gzip level 6),
/// measured over large logs; used to size a log from its compressed target.
pub const RATIO: f64 = 10.4;

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

const USER_AGENTS: [&str; 12] = [
    "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/s3#1.58.2",
    "Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 os/linux#5.10.219 md/arch#x86_64 lang/python#3.11.9 Botocore/1.34.144",
    "aws-cli/2.17.13 Python/3.11.9 Linux/6.1.97-104.177.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off command/s3.cp",
    "[aws-sdk-java/1.12.765 Linux/5.10.220-209.869.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.12+7-LTS java/17.0.12]",
    "aws-sdk-go/1.54.19 (go1.22.5; linux; amd64)",
    "aws-sdk-js/3.617.0 ua/2.0 os/linux#5.10.219 lang/js md/nodejs#20.15.1 api/dynamodb#3.617.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Boto3/1.28.57 Python/3.9.16 Linux/4.14.255 Botocore/1.31.57",
    "Terraform/1.9.2 terraform-provider-aws/5.59.0 aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5",
    "kubernetes/v1.30.2-eks-1552ad0 aws-sdk-go/1.54.19 (go1.22.5; linux; amd64)",
    "AWS Internal",
    "console.amazonaws.com",
];

/// An index in `0..n`, most often a small one: a few principals make most
/// of the calls in a real trail.
fn skewed(rng: &mut Prng, n: usize) -> usize {
    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    ((n as f64 * u * u * u) as usize).min(n - 1)
}

/// `len` characters of `alphabet`.
fn chars(rng: &mut Prng, alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| char::from(alphabet[rng.below(alphabet.len() as u64) as usize]))
        .collect()
}

struct Role {
    name: &'static str,
    id: String,
    sessions: Vec<Session>,
}

/// A principal's session: it calls from one address with one SDK.
struct Session {
    name: String,
    /// ASIA… temporary access key.
    key: String,
    /// Seconds between the session's creation and the hour before the log.
    created: i64,
    ip: usize,
    agent: usize,
}

struct User {
    name: &'static str,
    id: String,
    key: String,
    ip: usize,
    agent: usize,
}

/// The fixed resources and principals of the benchmark account.
pub struct World {
    account: String,
    region: String,
    roles: Vec<Role>,
    users: Vec<User>,
    buckets: Vec<&'static str>,
    kms: Vec<String>,
    instances: Vec<String>,
    tables: Vec<&'static str>,
    functions: Vec<&'static str>,
    ips: Vec<String>,
}

impl World {
    /// The world of `account` in `region` (always the same for a label).
    pub fn new(account: &str, region: &str) -> World {
        let mut rng = Prng::from_label("bench-realistic-world");
        let role_names = [
            "app-backend",
            "etl-glue-job",
            "lambda-ingest",
            "ci-deployer",
            "eks-node-group",
            "AWSReservedSSO_AdministratorAccess_3f1c0e2d9b7a4c61",
            "readonly-audit",
            "data-science",
            "external-dns",
            "batch-worker",
            "backup-service",
            "AWSServiceRoleForConfig",
        ];
        let ips: Vec<String> = (0..40)
            .map(|i| match i % 4 {
                0 => format!("10.{}.{}.{}", rng.below(256), rng.below(256), 1 + rng.below(254)),
                1 => format!("172.31.{}.{}", rng.below(256), 1 + rng.below(254)),
                _ => format!(
                    "{}.{}.{}.{}",
                    [3, 18, 34, 52, 54, 44, 35, 99][rng.below(8) as usize],
                    rng.below(256),
                    rng.below(256),
                    1 + rng.below(254)
                ),
            })
            .collect();
        let roles = role_names
            .iter()
            .map(|&name| {
                let id = format!("AROA{}", chars(&mut rng, UPPER, 17));
                let sessions = (0..3)
                    .map(|_| {
                        let session = match rng.below(4) {
                            0 => format!("i-0{}", rng.hex(8)),
                            1 => format!("botocore-session-{}", 1_709_250_000 + rng.below(90_000)),
                            2 => format!(
                                "{}@example.com",
                                ["alice", "bob", "carol", "dave"][rng.below(4) as usize]
                            ),
                            _ => format!("aws-go-sdk-{}", 1_709_250_000_000_000_000 + rng.below(1 << 50)),
                        };
                        Session {
                            name: session,
                            key: format!("ASIA{}", chars(&mut rng, UPPER, 16)),
                            created: rng.below(3600) as i64,
                            ip: rng.below(ips.len() as u64) as usize,
                            agent: rng.below(USER_AGENTS.len() as u64 - 2) as usize,
                        }
                    })
                    .collect();
                Role { name, id, sessions }
            })
            .collect();
        let users = [
            "terraform",
            "jenkins",
            "monitoring-exporter",
            "legacy-ftp-sync",
            "alice.admin",
        ]
        .iter()
        .map(|&name| User {
            name,
            id: format!("AIDA{}", chars(&mut rng, UPPER, 17)),
            key: format!("AKIA{}", chars(&mut rng, UPPER, 16)),
            ip: rng.below(ips.len() as u64) as usize,
            agent: rng.below(4) as usize,
        })
        .collect();
        World {
            account: account.to_string(),
            region: region.to_string(),
            roles,
            users,
            buckets: vec![
                "acme-data-lake-raw",
                "acme-data-lake-curated",
                "acme-app-uploads-prod",
                "acme-static-assets",
                "acme-backups-eu",
                "acme-athena-results",
                "acme-terraform-state",
                "acme-ml-training-data",
                "acme-logs-archive",
                "cdk-hnb659fds-assets-111122223333-us-east-1",
            ],
            kms: (0..6).map(|_| rng.uuid()).collect(),
            instances: (0..30).map(|_| format!("i-{}", &rng.hex(9)[..17])).collect(),
            tables: vec![
                "orders",
                "sessions",
                "user-profiles",
                "inventory",
                "idempotency-keys",
                "feature-flags",
            ],
            functions: vec![
                "ingest-s3-events",
                "resize-images",
                "orders-api-handler",
                "nightly-report",
                "stream-to-opensearch",
                "cognito-post-confirmation",
                "slack-notifier",
                "cost-explorer-export",
            ],
            ips,
        }
    }

    /// Appends one record (JSON object, no separator) for an event near `t`:
    /// what is done, by whom and on what comes from `ctx`, the per-event
    /// values (times, ids, object names, sizes) from `rng`.
    fn record(&self, rng: &mut Prng, ctx: &mut Prng, t: i64, out: &mut String) {
        let acct = &self.account;
        let region = &self.region;
        let r = ctx.below(100);
        let event_time = iso(t - rng.below(300) as i64);
        // (source, name, read only, data event)
        let (source, name, read_only, data) = match r {
            0..=19 => ("s3", "GetObject", true, true),
            20..=27 => ("s3", "PutObject", false, true),
            28..=31 => ("s3", "HeadObject", true, true),
            32..=45 => ("kms", "Decrypt", true, false),
            46..=52 => ("kms", "GenerateDataKey", true, false),
            53..=54 => ("sts", "AssumeRole", true, false),
            55..=61 => ("ec2", "DescribeInstances", true, false),
            62..=68 => ("dynamodb", "GetItem", true, true),
            69..=73 => ("dynamodb", "PutItem", false, true),
            74..=78 => ("lambda", "Invoke", false, true),
            79..=83 => ("ssm", "GetParameter", true, false),
            84..=86 => ("secretsmanager", "GetSecretValue", true, false),
            87..=89 => ("logs", "CreateLogStream", false, false),
            90..=93 => ("monitoring", "GetMetricData", true, false),
            94..=95 => ("iam", "GetRole", true, false),
            96..=97 => ("ec2", "DescribeNetworkInterfaces", true, false),
            _ => ("sqs", "ReceiveMessage", true, true),
        };
        let service_host = format!("{source}.amazonaws.com");
        let by_service = matches!(source, "kms" | "sts") && ctx.below(3) != 0;

        // userIdentity, source IP and user agent.
        let mut identity = String::with_capacity(700);
        let (ip, agent, caller_arn);
        if by_service {
            let invoker = [
                "s3.amazonaws.com",
                "lambda.amazonaws.com",
                "dynamodb.amazonaws.com",
                "ecs-tasks.amazonaws.com",
            ][ctx.below(4) as usize];
            identity.push_str(&format!("{{\"type\":\"AWSService\",\"invokedBy\":\"{invoker}\"}}"));
            ip = invoker.to_string();
            agent = invoker.to_string();
            caller_arn = format!("arn:aws:iam::{acct}:root");
        } else if ctx.below(3) == 0 {
            let u = &self.users[skewed(ctx, self.users.len())];
            caller_arn = format!("arn:aws:iam::{acct}:user/{}", u.name);
            let _ = write!(
                identity,
                "{{\"type\":\"IAMUser\",\"principalId\":\"{}\",\"arn\":\"{caller_arn}\",\"accountId\":\"{acct}\",\"accessKeyId\":\"{}\",\"userName\":\"{}\"}}",
                u.id, u.key, u.name
            );
            ip = self.ips[u.ip].clone();
            agent = USER_AGENTS[u.agent].to_string();
        } else {
            let role = &self.roles[skewed(ctx, self.roles.len())];
            let sess = &role.sessions[skewed(ctx, role.sessions.len())];
            let session = &sess.name;
            caller_arn = format!("arn:aws:sts::{acct}:assumed-role/{}/{session}", role.name);
            let _ = write!(
                identity,
                "{{\"type\":\"AssumedRole\",\"principalId\":\"{}:{session}\",\"arn\":\"{caller_arn}\",\"accountId\":\"{acct}\",\"accessKeyId\":\"{}\",\"sessionContext\":{{\"sessionIssuer\":{{\"type\":\"Role\",\"principalId\":\"{}\",\"arn\":\"arn:aws:iam::{acct}:role/{}\",\"accountId\":\"{acct}\",\"userName\":\"{}\"}},\"webIdFederationData\":{{}},\"attributes\":{{\"creationDate\":\"{}\",\"mfaAuthenticated\":\"false\"}}}}}}",
                role.id,
                sess.key,
                role.id,
                role.name,
                role.name,
                iso(t - 3600 - sess.created)
            );
            ip = self.ips[sess.ip].clone();
            agent = USER_AGENTS[sess.agent].to_string();
        }

        // Call-specific parameters, response, extra data and resources.
        let bucket = self.buckets[ctx.below(self.buckets.len() as u64) as usize];
        let kms = format!(
            "arn:aws:kms:{region}:{acct}:key/{}",
            self.kms[ctx.below(self.kms.len() as u64) as usize]
        );
        let object = format!(
            "{}/{}/part-{:05}-{}.{}",
            [
                "raw/events",
                "curated/orders",
                "uploads/images",
                "exports/daily",
                "models/checkpoints"
            ][ctx.below(5) as usize],
            &event_time[..10].replace('-', "/"),
            rng.below(512),
            rng.hex(6),
            ["parquet", "json.gz", "jpg", "csv", "bin"][ctx.below(5) as usize]
        );
        let mut params = String::with_capacity(400);
        let mut response = String::from("null");
        let mut extra = String::new();
        let mut resources = String::new();
        match (source, name) {
            ("s3", _) => {
                let _ = write!(
                    params,
                    "{{\"bucketName\":\"{bucket}\",\"Host\":\"{bucket}.s3.{region}.amazonaws.com\",\"key\":\"{object}\"}}"
                );
                if name == "PutObject" {
                    response = format!(
                        "{{\"x-amz-server-side-encryption-aws-kms-key-id\":\"{kms}\",\"x-amz-server-side-encryption\":\"aws:kms\",\"x-amz-version-id\":\"{}\"}}",
                        chars(rng, B64, 32).replace(['+', '/'], "_")
                    );
                }
                let scale = 10 + rng.below(18);
                let bytes = rng.below(1 << scale);
                let (bytes_in, bytes_out) = if name == "PutObject" { (bytes, 0) } else { (0, bytes) };
                let _ = write!(
                    extra,
                    "{{\"SignatureVersion\":\"SigV4\",\"CipherSuite\":\"TLS_AES_128_GCM_SHA256\",\"bytesTransferredIn\":{bytes_in},\"AuthenticationMethod\":\"AuthHeader\",\"x-amz-id-2\":\"{}=\",\"bytesTransferredOut\":{bytes_out}}}",
                    chars(rng, B64, 47)
                );
                let _ = write!(
                    resources,
                    "[{{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::{bucket}/{object}\"}},{{\"accountId\":\"{acct}\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::{bucket}\"}}]"
                );
            }
            ("kms", _) => {
                if name == "GenerateDataKey" {
                    let _ = write!(params, "{{\"keyId\":\"{kms}\",\"keySpec\":\"AES_256\",");
                } else {
                    params.push('{');
                }
                let _ = write!(
                    params,
                    "\"encryptionContext\":{{\"aws:s3:arn\":\"arn:aws:s3:::{bucket}/{object}\"}},\"encryptionAlgorithm\":\"SYMMETRIC_DEFAULT\"}}"
                );
                let _ = write!(
                    resources,
                    "[{{\"accountId\":\"{acct}\",\"type\":\"AWS::KMS::Key\",\"ARN\":\"{kms}\"}}]"
                );
            }
            ("sts", _) => {
                let role = &self.roles[ctx.below(self.roles.len() as u64) as usize];
                let session = format!("botocore-session-{}", 1_709_250_000 + rng.below(90_000));
                let _ = write!(
                    params,
                    "{{\"roleArn\":\"arn:aws:iam::{acct}:role/{}\",\"roleSessionName\":\"{session}\",\"durationSeconds\":3600}}",
                    role.name
                );
                response = format!(
                    "{{\"credentials\":{{\"accessKeyId\":\"ASIA{}\",\"sessionToken\":\"IQoJb3JpZ2luX2VjE{}\",\"expiration\":\"{}\"}},\"assumedRoleUser\":{{\"assumedRoleId\":\"{}:{session}\",\"arn\":\"arn:aws:sts::{acct}:assumed-role/{}/{session}\"}}}}",
                    chars(rng, UPPER, 16),
                    chars(rng, B64, 300),
                    iso(t + 3600),
                    role.id,
                    role.name
                );
                let _ = write!(
                    resources,
                    "[{{\"accountId\":\"{acct}\",\"type\":\"AWS::IAM::Role\",\"ARN\":\"arn:aws:iam::{acct}:role/{}\"}}]",
                    role.name
                );
            }
            ("ec2", "DescribeInstances") => {
                let _ = write!(
                    params,
                    "{{\"instancesSet\":{{\"items\":[{{\"instanceId\":\"{}\"}}]}},\"filterSet\":{{}},\"includeAllInstances\":false}}",
                    self.instances[ctx.below(self.instances.len() as u64) as usize]
                );
            }
            ("ec2", _) => {
                let _ = write!(
                    params,
                    "{{\"networkInterfaceIdSet\":{{}},\"filterSet\":{{\"items\":[{{\"name\":\"attachment.instance-id\",\"valueSet\":{{\"items\":[{{\"value\":\"{}\"}}]}}}}]}}}}",
                    self.instances[ctx.below(self.instances.len() as u64) as usize]
                );
            }
            ("dynamodb", _) => {
                let table = self.tables[ctx.below(self.tables.len() as u64) as usize];
                let _ = write!(
                    params,
                    "{{\"tableName\":\"{table}\",\"key\":{{\"pk\":\"{}#{}\",\"sk\":\"v{}\"}},\"consistentRead\":{}}}",
                    ["USER", "ORDER", "SESSION"][ctx.below(3) as usize],
                    rng.uuid(),
                    rng.below(4),
                    rng.below(2) == 0
                );
                let _ = write!(
                    resources,
                    "[{{\"accountId\":\"{acct}\",\"type\":\"AWS::DynamoDB::Table\",\"ARN\":\"arn:aws:dynamodb:{region}:{acct}:table/{table}\"}}]"
                );
            }
            ("lambda", _) => {
                let f = self.functions[ctx.below(self.functions.len() as u64) as usize];
                let _ = write!(
                    params,
                    "{{\"functionName\":\"arn:aws:lambda:{region}:{acct}:function:{f}\",\"invocationType\":\"{}\",\"sourceArn\":\"arn:aws:s3:::{bucket}\"}}",
                    ["Event", "RequestResponse"][ctx.below(2) as usize]
                );
                let _ = write!(
                    resources,
                    "[{{\"accountId\":\"{acct}\",\"type\":\"AWS::Lambda::Function\",\"ARN\":\"arn:aws:lambda:{region}:{acct}:function:{f}\"}}]"
                );
            }
            ("ssm", _) => {
                let _ = write!(
                    params,
                    "{{\"name\":\"/{}/{}/{}\",\"withDecryption\":true}}",
                    ["prod", "staging"][ctx.below(2) as usize],
                    self.functions[ctx.below(self.functions.len() as u64) as usize],
                    ["DB_PASSWORD", "API_KEY", "FEATURE_FLAGS", "SENTRY_DSN"][ctx.below(4) as usize]
                );
            }
            ("secretsmanager", _) => {
                let _ = write!(
                    params,
                    "{{\"secretId\":\"arn:aws:secretsmanager:{region}:{acct}:secret:prod/{}-{}\"}}",
                    self.tables[ctx.below(self.tables.len() as u64) as usize],
                    chars(rng, B64, 6).replace(['+', '/'], "x")
                );
            }
            ("logs", _) => {
                let _ = write!(
                    params,
                    "{{\"logGroupName\":\"/aws/lambda/{}\",\"logStreamName\":\"{}/[$LATEST]{}\"}}",
                    self.functions[ctx.below(self.functions.len() as u64) as usize],
                    &event_time[..10].replace('-', "/"),
                    rng.hex(16)
                );
            }
            ("monitoring", _) => {
                let _ = write!(
                    params,
                    "{{\"metricDataQueries\":[{{\"id\":\"m1\",\"metricStat\":{{\"metric\":{{\"namespace\":\"AWS/EC2\",\"metricName\":\"CPUUtilization\",\"dimensions\":[{{\"name\":\"InstanceId\",\"value\":\"{}\"}}]}},\"period\":300,\"stat\":\"Average\"}}}}],\"startTime\":\"{}\",\"endTime\":\"{}\"}}",
                    self.instances[ctx.below(self.instances.len() as u64) as usize],
                    iso(t - 3600),
                    iso(t)
                );
            }
            ("iam", _) => {
                let _ = write!(
                    params,
                    "{{\"roleName\":\"{}\"}}",
                    self.roles[ctx.below(self.roles.len() as u64) as usize].name
                );
            }
            _ => {
                let _ = write!(
                    params,
                    "{{\"queueUrl\":\"https://sqs.{region}.amazonaws.com/{acct}/{}-queue\",\"maxNumberOfMessages\":10,\"waitTimeSeconds\":20}}",
                    self.functions[ctx.below(self.functions.len() as u64) as usize]
                );
            }
        }

        let _ = write!(
            out,
            "{{\"eventVersion\":\"1.{}\",\"userIdentity\":{identity},\"eventTime\":\"{event_time}\",\"eventSource\":\"{service_host}\",\"eventName\":\"{name}\",\"awsRegion\":\"{region}\",\"sourceIPAddress\":\"{ip}\",\"userAgent\":\"{agent}\",",
            if data { "10" } else { "09" }
        );
        let denied = rng.below(40) == 0;
        if denied {
            let _ = write!(
                out,
                "\"errorCode\":\"AccessDenied\",\"errorMessage\":\"User: {caller_arn} is not authorized to perform: {source}:{name} because no identity-based policy allows the {source}:{name} action\",\"requestParameters\":null,\"responseElements\":null,"
            );
        } else {
            let _ = write!(out, "\"requestParameters\":{params},\"responseElements\":{response},");
            if !extra.is_empty() {
                let _ = write!(out, "\"additionalEventData\":{extra},");
            }
        }
        let request_id = if source == "s3" {
            chars(rng, b"0123456789ABCDEF", 16)
        } else {
            rng.uuid()
        };
        let _ = write!(
            out,
            "\"requestID\":\"{request_id}\",\"eventID\":\"{}\",\"readOnly\":{read_only},",
            rng.uuid()
        );
        if !resources.is_empty() {
            let _ = write!(out, "\"resources\":{resources},");
        }
        let _ = write!(
            out,
            "\"eventType\":\"AwsApiCall\",\"managementEvent\":{},\"recipientAccountId\":\"{acct}\",",
            !data
        );
        if by_service {
            let _ = write!(out, "\"sharedEventID\":\"{}\",", rng.uuid());
        }
        if source == "kms" && !by_service {
            let _ = write!(
                out,
                "\"vpcEndpointId\":\"vpce-0a1b2c3d4e5f67890\",\"vpcEndpointAccountId\":\"{acct}\","
            );
        }
        let _ = write!(
            out,
            "\"eventCategory\":\"{}\"",
            if data { "Data" } else { "Management" }
        );
        if !by_service && agent != "AWS Internal" {
            let _ = write!(
                out,
                ",\"tlsDetails\":{{\"tlsVersion\":\"TLSv1.{}\",\"cipherSuite\":\"{}\",\"clientProvidedHostHeader\":\"{}\"}}",
                if ctx.below(5) == 0 { "2" } else { "3" },
                if ctx.below(5) == 0 {
                    "ECDHE-RSA-AES128-GCM-SHA256"
                } else {
                    "TLS_AES_128_GCM_SHA256"
                },
                if source == "s3" {
                    format!("{bucket}.s3.{region}.amazonaws.com")
                } else {
                    format!("{source}.{region}.amazonaws.com")
                }
            );
        }
        out.push('}');
    }
}

/// The records of one log. Calls come in bursts (a job reading a prefix, a
/// service decrypting for a caller): consecutive records often share the
/// principal, the call and the resources, and differ in their ids, times and
/// object names, which is what makes real logs compress about 10:1.
pub struct Records<'w> {
    world: &'w World,
    rng: Prng,
    burst: Prng,
    left: u64,
}

impl<'w> Records<'w> {
    /// The records drawn from `rng`.
    pub fn new(world: &'w World, rng: Prng) -> Self {
        Records {
            world,
            burst: rng.clone(),
            rng,
            left: 0,
        }
    }

    /// Appends the next record for an event near `t`.
    pub fn next(&mut self, t: i64, out: &mut String) {
        if self.left == 0 {
            self.burst = Prng::from_seed(self.rng.next_u64());
            self.left = 1 + self.rng.below(8);
        }
        self.left -= 1;
        let mut ctx = self.burst.clone();
        self.world.record(&mut self.rng, &mut ctx, t, out);
    }
}
