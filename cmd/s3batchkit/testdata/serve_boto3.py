"""A whole Batch Operations job through boto3 against `s3batchkit serve`.

Run by TestServeBoto3 with Debian's /usr/bin/python3 (python3-boto3), and
the environment:

  SERVE_ENDPOINT   http://localhost:PORT
  SERVE_ACCOUNT    the account id (12 digits)
  MANIFEST_ETAG    the ETag (MD5) of manifests/m.csv
  EXPECT_TASKS     the number of manifest lines (one source is missing)
  SERVE_PROXY      optional: serve's own URL, used as the HTTP proxy when
                   ACCOUNT.localhost does not resolve here
  AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: the key serve accepts

boto3 keeps its default configuration: the account label goes in front of
the host (ACCOUNT.localhost:PORT), as the endpoint rules say. Every check
fails with a message; on success one JSON line is printed.
"""

import json
import os
import sys
import time

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint = os.environ["SERVE_ENDPOINT"]
account = os.environ["SERVE_ACCOUNT"]
etag = os.environ["MANIFEST_ETAG"]
expect_tasks = int(os.environ["EXPECT_TASKS"])
proxy = os.environ.get("SERVE_PROXY")


def client(**kw):
    cfg = {"retries": {"max_attempts": 1, "mode": "standard"}}
    if proxy:
        cfg["proxies"] = {"http": proxy}
    return boto3.client("s3control", endpoint_url=endpoint, region_name="us-east-1", config=Config(**cfg), **kw)


def check(cond, what, got):
    if not cond:
        sys.exit("serve_boto3.py: %s: got %r" % (what, got))


s3c = client()
hosts = []
s3c.meta.events.register("before-send.s3-control", lambda request, **_: hosts.append(request.url.split("/")[2]))


def tags_of(job_id):
    return {t["Key"]: t["Value"] for t in s3c.get_job_tagging(AccountId=account, JobId=job_id)["Tags"]}


def wait(job_id, statuses, timeout=90):
    deadline = time.time() + timeout
    while True:
        job = s3c.describe_job(AccountId=account, JobId=job_id)["Job"]
        if job["Status"] in statuses or time.time() > deadline:
            return job
        time.sleep(0.1)


job_id = s3c.create_job(
    AccountId=account,
    ConfirmationRequired=True,
    ClientRequestToken="boto3-1",
    Priority=10,
    Description="copy by boto3",
    RoleArn="arn:aws:iam::%s:role/batch" % account,
    Operation={"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::dst", "TargetKeyPrefix": "boto3",
                                   "MetadataDirective": "COPY"}},
    Manifest={"Spec": {"Format": "S3BatchOperations_CSV_20180820", "Fields": ["Bucket", "Key"]},
              "Location": {"ObjectArn": "arn:aws:s3:::manifests/m.csv", "ETag": etag}},
    Report={"Bucket": "arn:aws:s3:::reports", "Prefix": "boto3", "Format": "Report_CSV_20180820",
            "Enabled": True, "ReportScope": "AllTasks"},
    Tags=[{"Key": "team", "Value": "data"}, {"Key": "ünï", "Value": "cödé"}],
)["JobId"]
want_host = "%s.localhost:%s" % (account, endpoint.rsplit(":", 1)[1])
check(hosts and all(h == want_host for h in hosts), "hosts the requests went to (want %s)" % want_host, hosts)

job = wait(job_id, ("Suspended",))
check(job["Status"] == "Suspended", "status before confirmation", job["Status"])
check(job["Manifest"]["Spec"]["Fields"] == ["Bucket", "Key"], "Manifest.Spec.Fields", job["Manifest"]["Spec"])
check(job["Description"] == "copy by boto3" and job["Priority"] == 10, "description and priority", job)

listed = s3c.list_jobs(AccountId=account, JobStatuses=["Suspended"])["Jobs"]
check([j["JobId"] for j in listed] == [job_id], "list_jobs Suspended", listed)

check(tags_of(job_id) == {"team": "data", "ünï": "cödé"}, "tags from create_job", tags_of(job_id))
s3c.put_job_tagging(AccountId=account, JobId=job_id, Tags=[{"Key": "owner", "Value": "boto3"}])
check(tags_of(job_id) == {"owner": "boto3"}, "tags after put_job_tagging", tags_of(job_id))
try:
    s3c.put_job_tagging(AccountId=account, JobId=job_id, Tags=[{"Key": "k%d" % i, "Value": "v"} for i in range(51)])
    sys.exit("serve_boto3.py: 51 tags accepted")
except ClientError as e:
    check(e.response["Error"]["Code"] == "TooManyTagsException", "51 tags", e.response["Error"])
s3c.delete_job_tagging(AccountId=account, JobId=job_id)
check(tags_of(job_id) == {}, "tags after delete_job_tagging", tags_of(job_id))

out = s3c.update_job_priority(AccountId=account, JobId=job_id, Priority=42)
check(out["Priority"] == 42, "update_job_priority", out)

# Refused, changing nothing: another secret, another key.
for key, secret, code in (("AKIDLOCAL", "not-the-secret", "SignatureDoesNotMatch"),
                          ("AKIDOTHER", os.environ["AWS_SECRET_ACCESS_KEY"], "InvalidAccessKeyId")):
    bad = client(aws_access_key_id=key, aws_secret_access_key=secret)
    try:
        bad.update_job_status(AccountId=account, JobId=job_id, RequestedJobStatus="Cancelled")
        sys.exit("serve_boto3.py: key %s with a wrong secret accepted" % key)
    except ClientError as e:
        check(e.response["Error"]["Code"] == code and e.response["ResponseMetadata"]["HTTPStatusCode"] == 403,
              "refusal of key %s" % key, e.response)
job = s3c.describe_job(AccountId=account, JobId=job_id)["Job"]
check(job["Status"] == "Suspended" and job["Priority"] == 42, "the job after refused requests", job["Status"])

out = s3c.update_job_status(AccountId=account, JobId=job_id, RequestedJobStatus="Ready",
                            StatusUpdateReason="confirmed by boto3")
check(out["Status"] in ("Ready", "Active"), "update_job_status Ready", out)
job = wait(job_id, ("Complete", "Failed", "Cancelled"))
ps = job["ProgressSummary"]
check(job["Status"] == "Complete" and ps["TotalNumberOfTasks"] == expect_tasks
      and ps["NumberOfTasksSucceeded"] == expect_tasks - 1 and ps["NumberOfTasksFailed"] == 1,
      "the job's end", (job["Status"], ps))
listed = s3c.list_jobs(AccountId=account, JobStatuses=["Complete"])["Jobs"]
check([j["JobId"] for j in listed] == [job_id], "list_jobs Complete", listed)

print(json.dumps({"job_id": job_id, "boto3": boto3.__version__, "botocore": botocore.__version__,
                  "hosts": sorted(set(hosts)), "proxy": bool(proxy)}))
