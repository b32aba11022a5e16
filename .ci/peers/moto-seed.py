"""Seeds the two moto servers of the vault-aws end-to-end tests (auth not yet enforced).

usage: moto-seed.py ENFORCED_ENDPOINT MFA_ENDPOINT ENV_OUT

ENFORCED_ENDPOINT (SigV4 + IAM checking is switched on after this script):
  user alice   (access key; may GetSecretValue/DescribeSecret, AssumeRole, GetCallerIdentity,
                ListMFADevices; no MFA device, so MFA discovery finds none)
  user mallory (access key, no policy: every call is denied)
  role secrets-reader (trusts alice and chain-hop's session `first-hop`; may GetSecretValue), role locked (trusts
                mallory only), role chain-hop (trusts alice; may only AssumeRole: the first
                hop of a two-role source_profile chain)
  secret app/db   two versions with fixed VersionIds (AWSPREVIOUS, AWSCURRENT) and a custom
                  label `blue` on the first one
  secret app/blob SecretBinary
  secret app/eu   in eu-west-1
MFA_ENDPOINT (checking stays off: moto's session credentials would fail it):
  user alice with a virtual MFA device, secret app/mfa.
Writes KEY=value lines (VAULT_TEST_AWS_*) to ENV_OUT.
"""
import base64
import json
import sys

import boto3
from botocore.config import Config

enforced, mfa_endpoint, env_out = sys.argv[1], sys.argv[2], sys.argv[3]
REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
V1 = "11111111-1111-4111-8111-111111111111"
V2 = "22222222-2222-4222-8222-222222222222"
VALUE_V1 = json.dumps({"username": "dbuser", "password": "v1-pass"})
VALUE_V2 = json.dumps({"username": "dbuser", "password": "v2-pass"})
BINARY = b"\x00\x01binary-secret\xff"
EU_VALUE = "eu-only-value"
MFA_VALUE = "value-behind-mfa"


def client(endpoint, svc, region=REGION):
    # Any credentials work while INITIAL_NO_AUTH_ACTION_COUNT is infinite.
    return boto3.client(svc, endpoint_url=endpoint, region_name=region,
                        aws_access_key_id="seed", aws_secret_access_key="seed",
                        config=Config(retries={"max_attempts": 1}))


def policy(actions, resource="*"):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": resource}]})


def trust(principal_arn):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": principal_arn}, "Action": "sts:AssumeRole"}]})


out = {}

# --- the enforced server ---
iam, sm = client(enforced, "iam"), client(enforced, "secretsmanager")
alice = iam.create_user(UserName="alice")["User"]
alice_key = iam.create_access_key(UserName="alice")["AccessKey"]
iam.put_user_policy(UserName="alice", PolicyName="secrets-client", PolicyDocument=policy([
    "secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret",
    "sts:AssumeRole", "sts:GetCallerIdentity", "iam:ListMFADevices"]))
mallory = iam.create_user(UserName="mallory")["User"]
mallory_key = iam.create_access_key(UserName="mallory")["AccessKey"]
hop = iam.create_role(RoleName="chain-hop", AssumeRolePolicyDocument=trust(alice["Arn"]))["Role"]
iam.put_role_policy(RoleName="chain-hop", PolicyName="hop", PolicyDocument=policy(["sts:AssumeRole"]))
# moto compares a trust policy's principals literally: the hop's sessions are trusted by their
# assumed-role ARN, so the chain's first profile must use role_session_name = first-hop.
hop_session = hop["Arn"].replace(":iam::", ":sts::").replace(":role/", ":assumed-role/") + "/first-hop"
reader = iam.create_role(RoleName="secrets-reader",
                         AssumeRolePolicyDocument=trust([alice["Arn"], hop_session]))["Role"]
iam.put_role_policy(RoleName="secrets-reader", PolicyName="read",
                    PolicyDocument=policy(["secretsmanager:GetSecretValue"]))
locked = iam.create_role(RoleName="locked", AssumeRolePolicyDocument=trust(mallory["Arn"]))["Role"]

db = sm.create_secret(Name="app/db", ClientRequestToken=V1, SecretString=VALUE_V1)
sm.put_secret_value(SecretId="app/db", ClientRequestToken=V2, SecretString=VALUE_V2)
sm.update_secret_version_stage(SecretId="app/db", VersionStage="blue", MoveToVersionId=V1)
blob = sm.create_secret(Name="app/blob", SecretBinary=BINARY)
eu = client(enforced, "secretsmanager", OTHER_REGION).create_secret(
    Name="app/eu", SecretString=EU_VALUE)

out.update({
    "VAULT_TEST_AWS_ENDPOINT": enforced,
    "VAULT_TEST_AWS_REGION": REGION,
    "VAULT_TEST_AWS_ACCESS_KEY_ID": alice_key["AccessKeyId"],
    "VAULT_TEST_AWS_SECRET_ACCESS_KEY": alice_key["SecretAccessKey"],
    "VAULT_TEST_AWS_DENIED_ACCESS_KEY_ID": mallory_key["AccessKeyId"],
    "VAULT_TEST_AWS_DENIED_SECRET_ACCESS_KEY": mallory_key["SecretAccessKey"],
    "VAULT_TEST_AWS_ROLE_ARN": reader["Arn"],
    "VAULT_TEST_AWS_LOCKED_ROLE_ARN": locked["Arn"],
    "VAULT_TEST_AWS_HOP_ROLE_ARN": hop["Arn"],
    "VAULT_TEST_AWS_SECRET_ARN": db["ARN"],
    "VAULT_TEST_AWS_SECRET_V1": V1,
    "VAULT_TEST_AWS_SECRET_V2": V2,
    "VAULT_TEST_AWS_SECRET_V1_VALUE": VALUE_V1,
    "VAULT_TEST_AWS_SECRET_V2_VALUE": VALUE_V2,
    "VAULT_TEST_AWS_BINARY_SECRET_ARN": blob["ARN"],
    "VAULT_TEST_AWS_BINARY_SECRET_BASE64": base64.b64encode(BINARY).decode(),
    "VAULT_TEST_AWS_EU_SECRET_ARN": eu["ARN"],
    "VAULT_TEST_AWS_EU_SECRET_VALUE": EU_VALUE,
})

# --- the MFA server (checking off) ---
iam2, sm2 = client(mfa_endpoint, "iam"), client(mfa_endpoint, "secretsmanager")
iam2.create_user(UserName="alice")
alice2_key = iam2.create_access_key(UserName="alice")["AccessKey"]
device = iam2.create_virtual_mfa_device(VirtualMFADeviceName="alice-mfa")["VirtualMFADevice"]
iam2.enable_mfa_device(UserName="alice", SerialNumber=device["SerialNumber"],
                       AuthenticationCode1="123456", AuthenticationCode2="654321")
mfa_secret = sm2.create_secret(Name="app/mfa", SecretString=MFA_VALUE)
out.update({
    "VAULT_TEST_AWS_MFA_ENDPOINT": mfa_endpoint,
    "VAULT_TEST_AWS_MFA_ACCESS_KEY_ID": alice2_key["AccessKeyId"],
    "VAULT_TEST_AWS_MFA_SECRET_ACCESS_KEY": alice2_key["SecretAccessKey"],
    "VAULT_TEST_AWS_MFA_SERIAL": device["SerialNumber"],
    "VAULT_TEST_AWS_MFA_SECRET_ARN": mfa_secret["ARN"],
    "VAULT_TEST_AWS_MFA_SECRET_VALUE": MFA_VALUE,
})

with open(env_out, "w") as f:
    f.write("# vault-aws peer values (peer-moto.sh, moto-seed.py)\n")
    for k, v in out.items():
        # KEY=value lines, read by `set -a; . file`: quote for the shell.
        f.write("%s='%s'\n" % (k, v.replace("'", "'\\''")))
