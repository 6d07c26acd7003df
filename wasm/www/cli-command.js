// The `ctverify` command line that gives the same report as a page run
// (shown next to the report download): the run's options as CLI flags.

/** `o`: the run's options (run.js); `keyNames`: the keys files' names. */
export function cliCommand(o, keyNames) {
  const q = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  const args = ['ctverify validate --local DIR'];
  for (const k of keyNames) args.push(`--public-keys ${q(k)}`);
  args.push('--format json');
  if (o.trail_arn) args.push(`--trail-arn ${q(o.trail_arn)}`);
  if (o.start_time) args.push(`--start-time ${q(o.start_time)}`);
  if (o.end_time) args.push(`--end-time ${q(o.end_time)}`);
  if (o.s3_bucket) args.push(`--s3-bucket ${q(o.s3_bucket)}`);
  if (o.s3_prefix) args.push(`--s3-prefix ${q(o.s3_prefix)}`);
  for (const r of o.regions) args.push(`--region ${q(r)}`);
  for (const a of o.accounts) args.push(`--account-id ${q(a)}`);
  if (o.allow_gaps) args.push('--allow-gaps');
  if (o.verbose) args.push('--verbose');
  args.push(`--now ${o.now}`);
  return args.join(' ');
}
