// Package objio is the one place where s3batchkit touches storage: it opens,
// reads, lists and atomically writes objects named by a local path or an
// s3://bucket/key URL. Every other package goes through it.
//
// The S3 backend reads with ranged GETs (read-ahead with several GETs in
// flight for sequential reads, see Client.Open), writes with one PUT or a
// parallel multipart upload (see Client.Upload), and retries every request
// with one policy (RetryPolicy). Errors tell a missing object
// (ErrNotFound) from a refused request (*AccessError) and from missing or
// rejected credentials (*CredentialsError); Client.CheckAccess finds the
// last before any work.
//
// # Clients
//
// All I/O goes through a *Client, made by New from a Config: one
// configuration (endpoint, region, profile, retries; the rest from the
// standard AWS configuration chain), its S3 client, built on first use,
// and its request counters (Client.Stats). There is no package-level
// client and no package state: two configurations live side by side in
// one process, each counting its own requests. The packages that read or
// write locations take the client explicitly — an IO field in their
// options, or a parameter — and the CLI builds one per invocation from
// its global flags.
//
// A nil *Client is valid wherever a client is taken, and means a client
// with the zero Config, made afresh by each call: local paths work as
// with any client, s3:// uses the default AWS chain (AWS_PROFILE,
// AWS_REGION, AWS_ENDPOINT_URL …). Nothing is shared between those calls
// — no cached credentials, no S3 client, no request counts (Stats is
// zero) — so code that makes more than a few S3 requests, or reports
// their counts, should be given a Client.
//
// Clients, and everything else in the package, are safe for concurrent
// use.
package objio
