import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { promisify } from 'node:util';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { type App, Duration, SecretValue, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud.ts';
import { startTestCloud, TEST_CREDENTIALS, type TestCloud } from '../support/test-cloud.ts';

const HANDLER = 'test/e2e/fixtures/function-url-handler.ts';

/**
 * A stack only this test deploys: a KMS-encrypted generated secret, a JSON secret, a named secret with a
 * fixed value, and the probe handler behind a public function URL (with CORS), an AWS_IAM one and one
 * whose URL has no public resource policy.
 */
function addWebhookStack(app: App): void {
  const stack = new Stack(app, 'WebhookProbe', { env: { region: 'us-east-1' } });
  const key = new kms.Key(stack, 'ProbeKey');
  const secret = new secretsmanager.Secret(stack, 'ProbeWebhookSecret', {
    encryptionKey: key,
    generateSecretString: { passwordLength: 48, excludePunctuation: true },
  });
  new secretsmanager.Secret(stack, 'ProbeJsonSecret', {
    generateSecretString: {
      secretStringTemplate: JSON.stringify({ username: 'carrier' }),
      generateStringKey: 'password',
      excludeCharacters: 'abcdefABCDEF0123456789',
    },
  });
  new secretsmanager.CfnSecret(stack, 'ProbeFixedSecret', {
    name: 'probe/fixed',
    secretString: 'fixed-value',
  });
  const probe = (id: string) => {
    const fn = new lambda.Function(stack, id, {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      timeout: Duration.seconds(5),
      code: lambda.Code.fromInline('exports.handler = async () => ({})'),
      environment: {
        WEBHOOK_SECRET_ARN: secret.secretArn,
        // A dynamic reference: CloudFormation resolves it at deploy time, the local cloud at start-up.
        FIXED_SECRET: SecretValue.secretsManager('probe/fixed').unsafeUnwrap(),
      },
    });
    (fn.node.defaultChild as lambda.CfnFunction).addMetadata('handoff:handler-source', HANDLER);
    secret.grantRead(fn);
    return fn;
  };
  probe('ProbeWebhook').addFunctionUrl({
    authType: lambda.FunctionUrlAuthType.NONE,
    cors: { allowedOrigins: ['https://carrier.example'], allowedMethods: [lambda.HttpMethod.POST] },
  });
  probe('ProbeIamWebhook').addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
  // A URL without the public resource policy addFunctionUrl adds: AWS refuses every call to it.
  new lambda.CfnUrl(stack, 'ProbePrivateUrl', {
    authType: 'NONE',
    targetFunctionArn: probe('ProbePrivateWebhook').functionArn,
  });
}

const run = promisify(execFile);

async function aws(cloud: LocalCloud, ...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run('aws', ['--endpoint-url', cloud.endpoint, '--region', 'us-east-1', ...args], {
    env: { ...process.env, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' },
    encoding: 'utf8',
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

const sign = (secret: string, body: Buffer | string) =>
  createHmac('sha256', secret).update(body).digest('hex');

describe('the local cloud with handlers on the main thread', () => {
  let world: TestCloud;
  let cloud: LocalCloud;
  let client: SecretsManagerClient;
  let url: string;
  let atStart: { sdkCalls: number; httpRequests: number };

  beforeAll(async () => {
    world = await startTestCloud({ extend: addWebhookStack });
    cloud = world.cloud;
    atStart = {
      sdkCalls: cloud.meter.calls.get('Secrets Manager.GetSecretValue') ?? 0,
      httpRequests: cloud.requests.get('secretsmanager.GetSecretValue') ?? 0,
    };
    client = new SecretsManagerClient({
      endpoint: cloud.endpoint,
      region: 'us-east-1',
      credentials: TEST_CREDENTIALS,
    });
    url = cloud.functionUrl('ProbeWebhook');
  });

  afterAll(async () => {
    client?.destroy();
    await world?.stop();
  });

  describe('Secrets Manager', () => {
    it("serves the handlers' cold-start reads in process while the cloud warms them", () => {
      // One read per probe function (their modules load at start-up), none of them over a socket.
      expect(atStart.sdkCalls).toBeGreaterThanOrEqual(3);
      expect(atStart.httpRequests).toBe(0);
    });

    it('resolves Ref of a secret to a Secrets Manager ARN with a random suffix, and serves it by ARN, partial ARN and name', async () => {
      const arn = cloud.secrets.arn('ProbeWebhookSecret');
      expect(arn).toMatch(
        /^arn:aws:secretsmanager:us-east-1:000000000000:secret:WebhookProbe-ProbeWebhookSecret[0-9A-F]{8}-[A-Za-z0-9]{6}$/,
      );
      const fn = [...cloud.lambda.functions.values()].find((f) =>
        f.resource.logicalId.startsWith('ProbeWebhook'),
      );
      expect(fn?.environment.WEBHOOK_SECRET_ARN).toBe(arn);

      const byArn = await client.send(new GetSecretValueCommand({ SecretId: arn }));
      expect(byArn).toMatchObject({ ARN: arn, VersionStages: ['AWSCURRENT'] });
      expect(byArn.Name).toBe(arn.split(':secret:')[1]?.replace(/-[A-Za-z0-9]{6}$/, ''));
      expect(byArn.CreatedDate).toBeInstanceOf(Date);
      expect(byArn.VersionId).toMatch(/^[0-9a-f-]{36}$/);
      // PasswordLength 48, ExcludePunctuation, and no space (IncludeSpace defaults to false).
      expect(byArn.SecretString).toMatch(/^[A-Za-z0-9]{48}$/);
      expect(byArn.SecretString).toBe(cloud.secrets.value('ProbeWebhookSecret'));

      const byName = await client.send(new GetSecretValueCommand({ SecretId: byArn.Name }));
      const byPartialArn = await client.send(
        new GetSecretValueCommand({ SecretId: arn.replace(/-[A-Za-z0-9]{6}$/, '') }),
      );
      expect([byName.ARN, byName.SecretString]).toEqual([arn, byArn.SecretString]);
      expect([byPartialArn.ARN, byPartialArn.SecretString]).toEqual([arn, byArn.SecretString]);
    });

    it('generates JSON from SecretStringTemplate and GenerateStringKey, and keeps a given SecretString', async () => {
      const json = await client.send(
        new GetSecretValueCommand({ SecretId: cloud.secrets.arn('ProbeJsonSecret') }),
      );
      const parsed = JSON.parse(json.SecretString ?? '{}') as { username: string; password: string };
      expect(parsed.username).toBe('carrier');
      expect(parsed.password).toHaveLength(32);
      expect(parsed.password).not.toMatch(/[a-fA-F0-9 ]/);
      expect(parsed.password).toMatch(/[^A-Za-z0-9]/);
      const fixed = await client.send(new GetSecretValueCommand({ SecretId: 'probe/fixed' }));
      expect(fixed).toMatchObject({ Name: 'probe/fixed', SecretString: 'fixed-value' });
      expect(fixed.ARN).toMatch(/:secret:probe\/fixed-[A-Za-z0-9]{6}$/);
    });

    it('answers an unknown secret with ResourceNotFoundException', async () => {
      await expect(
        client.send(new GetSecretValueCommand({ SecretId: 'no-such-secret' })),
      ).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
        $metadata: { httpStatusCode: 400 },
      });
      await expect(
        client.send(
          new GetSecretValueCommand({
            SecretId: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:probe/missing-AbCdEf',
          }),
        ),
      ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    });

    it('describes and lists secrets with their KMS key', async () => {
      const arn = cloud.secrets.arn('ProbeWebhookSecret');
      const described = await client.send(new DescribeSecretCommand({ SecretId: arn }));
      expect(described.KmsKeyId).toMatch(/^arn:aws:kms:us-east-1:000000000000:key\//);
      expect(Object.values(described.VersionIdsToStages ?? {})).toEqual([['AWSCURRENT']]);
      const listed = await client.send(
        new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['WebhookProbe-'] }] }),
      );
      expect(listed.SecretList?.map((s) => s.ARN).sort()).toEqual(
        [cloud.secrets.arn('ProbeWebhookSecret'), cloud.secrets.arn('ProbeJsonSecret')].sort(),
      );
    });

    it('serves the AWS CLI: get-secret-value, describe-secret, list-secrets and put-secret-value', async () => {
      const arn = cloud.secrets.arn('ProbeWebhookSecret');
      const value = await aws(cloud, 'secretsmanager', 'get-secret-value', '--secret-id', arn);
      expect(value).toMatchObject({ ARN: arn, SecretString: cloud.secrets.value(arn) });
      const listed = await aws(cloud, 'secretsmanager', 'list-secrets');
      expect((listed.SecretList as { Name: string }[]).map((s) => s.Name)).toContain('probe/fixed');

      // An operator rotates the named secret by hand: the new value is current, the old one previous.
      const put = await aws(
        cloud,
        'secretsmanager',
        'put-secret-value',
        '--secret-id',
        'probe/fixed',
        '--secret-string',
        'rotated-value',
      );
      expect(put).toMatchObject({ Name: 'probe/fixed', VersionStages: ['AWSCURRENT'] });
      expect(cloud.secrets.value('probe/fixed')).toBe('rotated-value');
      const previous = await aws(
        cloud,
        'secretsmanager',
        'get-secret-value',
        '--secret-id',
        'probe/fixed',
        '--version-stage',
        'AWSPREVIOUS',
      );
      expect(previous).toMatchObject({ SecretString: 'fixed-value', VersionStages: ['AWSPREVIOUS'] });
      const described = await aws(cloud, 'secretsmanager', 'describe-secret', '--secret-id', 'probe/fixed');
      expect(Object.values(described.VersionIdsToStages as Record<string, string[]>).sort()).toEqual([
        ['AWSCURRENT'],
        ['AWSPREVIOUS'],
      ]);

      await expect(
        aws(cloud, 'secretsmanager', 'get-secret-value', '--secret-id', 'no-such-secret'),
      ).rejects.toMatchObject({ stderr: expect.stringContaining('ResourceNotFoundException') });
    });

    it('resolves {{resolve:secretsmanager:…}} references in the templates to the secret value', async () => {
      const config = await fetch(new URL('config', url), { method: 'POST' });
      expect(await config.json()).toEqual({ secretIdIsArn: true, fixedSecret: 'fixed-value' });
    });
  });

  describe('function URLs', () => {
    it('resolves Fn::GetAtt FunctionUrl to the endpoint path of the function', () => {
      const resource = cloud.model
        .ofType('AWS::Lambda::Url')
        .find((r) => r.logicalId.startsWith('ProbeWebhook'));
      if (!resource) throw new Error('no probe URL');
      const name = [...cloud.lambda.functions.values()].find((f) =>
        /^ProbeWebhook[0-9A-F]{8}$/.test(f.resource.logicalId),
      )?.name;
      const port = new URL(cloud.endpoint).port;
      expect(cloud.model.getAtt(resource, 'FunctionUrl')).toBe(
        `http://127.0.0.1:${port}/lambda-url/${name}/`,
      );
      expect(url).toBe(`http://127.0.0.1:${port}/lambda-url/${name}/`);
      expect(cloud.functionUrls.get(name ?? '')).toBe(url);
      expect(cloud.functionUrls.get(resource.logicalId)).toBe(url);
      expect(cloud.model.getAtt(resource, 'UrlId')).toMatch(/^[a-z0-9]{32}$/);
    });

    it('delivers a payload format 2.0 event: lower-cased headers, cookies, query and the raw body', async () => {
      const body = '{"tracking":"1Z999","note":"caf\u00e9  \u2014 spaced"}';
      const response = await fetch(new URL('echo?carrier=ups&carrier=fedex&q=a%20b', url), {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json; charset=utf-8',
          'X-Handoff-Signature': 'abc',
          'User-Agent': 'carrier-sandbox/1.0',
          Cookie: 'session=s1; theme=dark',
        },
        body,
      });
      expect(response.status).toBe(200);
      const event = (await response.json()) as LambdaFunctionURLEvent;
      expect(event).toMatchObject({
        version: '2.0',
        routeKey: '$default',
        rawPath: '/echo',
        rawQueryString: 'carrier=ups&carrier=fedex&q=a%20b',
        queryStringParameters: { carrier: 'ups,fedex', q: 'a b' },
        cookies: ['session=s1', 'theme=dark'],
        body,
        isBase64Encoded: false,
        requestContext: {
          accountId: 'anonymous',
          routeKey: '$default',
          stage: '$default',
          http: {
            method: 'POST',
            path: '/echo',
            protocol: 'HTTP/1.1',
            sourceIp: '127.0.0.1',
            userAgent: 'carrier-sandbox/1.0',
          },
        },
      });
      expect(event.headers['x-handoff-signature']).toBe('abc');
      expect(event.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(event.headers.cookie).toBeUndefined();
      expect(Object.keys(event.headers).every((h) => h === h.toLowerCase())).toBe(true);
      const { apiId, domainName, domainPrefix, requestId, time, timeEpoch } = event.requestContext;
      expect(apiId).toMatch(/^[a-z0-9]{32}$/);
      expect([domainPrefix, domainName]).toEqual([apiId, `${apiId}.lambda-url.us-east-1.on.aws`]);
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
      expect(typeof timeEpoch).toBe('number');
    });

    it('base64-encodes a binary body, byte for byte', async () => {
      const bytes = Buffer.from([0, 1, 2, 0xc3, 0x28, 0xfe, 0xff]);
      const response = await fetch(new URL('echo', url), {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: bytes,
      });
      const event = (await response.json()) as LambdaFunctionURLEvent;
      expect(event.isBase64Encoded).toBe(true);
      expect(Buffer.from(event.body ?? '', 'base64').equals(bytes)).toBe(true);
      const bare = (await (await fetch(new URL('echo', url))).json()) as LambdaFunctionURLEvent;
      expect(bare.body).toBeUndefined();
      expect(bare.isBase64Encoded).toBe(false);
      expect(bare.rawQueryString).toBe('');
      expect(bare.queryStringParameters).toBeUndefined();
    });

    it('lets the handler verify an HMAC over the raw body with the key it read from Secrets Manager', async () => {
      const key = cloud.secrets.value('ProbeWebhookSecret');
      const body =
        '{ "events": [ {"status":"DELIVERED", "at":"2026-01-01T00:00:00Z"} ],\n  "note": "\u00fcber" }';
      const post = (payload: Buffer | string, signature: string, type = 'application/json') =>
        fetch(new URL('verify', url), {
          method: 'POST',
          headers: { 'content-type': type, 'x-handoff-signature': signature },
          body: payload,
        });
      const verified = await post(body, sign(key, body));
      expect(verified.status).toBe(202);
      expect(await verified.json()).toEqual({ verified: true, bytes: Buffer.byteLength(body) });
      expect((await post(`${body} `, sign(key, body))).status).toBe(401);
      const binary = Buffer.from([0x80, 0x81, 0xff, 0x00, 0x7b]);
      expect((await post(binary, sign(key, binary), 'application/octet-stream')).status).toBe(202);
      const invocations = cloud.lambda.invocations.filter((i) => i.functionName.includes('ProbeWebhook'));
      expect(invocations.every((i) => i.error === undefined)).toBe(true);
    });

    it('maps results like Lambda: structured responses as given, other values as a JSON 200, errors as 502', async () => {
      const plain = await fetch(new URL('plain', url), { method: 'DELETE' });
      expect(plain.status).toBe(200);
      expect(plain.headers.get('content-type')).toBe('application/json');
      expect(await plain.json()).toEqual({ ok: true, method: 'DELETE' });

      const text = await fetch(new URL('string', url));
      expect([text.status, await text.text()]).toEqual([200, '"Hello, world!"']);

      const cookies = await fetch(new URL('cookies', url), { method: 'POST' });
      expect(cookies.status).toBe(201);
      expect(cookies.headers.get('content-type')).toBe('text/plain');
      expect(cookies.headers.get('x-probe')).toBe('cookies');
      expect(cookies.headers.getSetCookie()).toEqual(['session=abc; Max-Age=60', 'theme=dark']);
      expect(await cookies.text()).toBe('made');

      const binary = await fetch(new URL('binary', url));
      expect(Buffer.from(await binary.arrayBuffer())).toEqual(Buffer.from([0, 1, 2, 254, 255]));

      const failed = await fetch(new URL('throw', url));
      expect(failed.status).toBe(502);
      expect(await failed.json()).toEqual({ Message: 'Internal Server Error' });
      expect(cloud.lambda.invocations.at(-1)?.error).toBe('ProbeFailure: probe refuses');
    });

    it('answers CORS preflights itself and adds the CORS headers to responses', async () => {
      const before = cloud.lambda.invocations.length;
      const preflight = await fetch(new URL('verify', url), {
        method: 'OPTIONS',
        headers: { origin: 'https://carrier.example', 'access-control-request-method': 'POST' },
      });
      expect(preflight.status).toBe(200);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('https://carrier.example');
      expect(preflight.headers.get('access-control-allow-methods')).toBe('POST');
      expect(cloud.lambda.invocations.length).toBe(before);
      const cross = await fetch(new URL('plain', url), { headers: { origin: 'https://carrier.example' } });
      expect(cross.headers.get('access-control-allow-origin')).toBe('https://carrier.example');
      const foreign = await fetch(new URL('plain', url), {
        headers: { origin: 'https://elsewhere.example' },
      });
      expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('refuses calls AWS would refuse: no public policy, an unsigned AWS_IAM call, an unknown URL', async () => {
      const privateUrl = cloud.functionUrl('ProbePrivateUrl');
      const refused = await fetch(new URL('plain', privateUrl));
      expect(refused.status).toBe(403);
      expect(await refused.json()).toEqual({ Message: 'Forbidden' });

      const iamUrl = cloud.functionUrl('ProbeIamWebhook');
      expect((await fetch(new URL('plain', iamUrl))).status).toBe(403);
      const signed = await fetch(new URL('echo', iamUrl), {
        headers: {
          authorization:
            'AWS4-HMAC-SHA256 Credential=AKIALOCAL/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=00',
        },
      });
      expect(signed.status).toBe(200);
      const event = (await signed.json()) as { requestContext: { accountId: string; authorizer: unknown } };
      expect(event.requestContext.accountId).toBe('000000000000');
      expect(event.requestContext.authorizer).toMatchObject({ iam: { accessKey: 'AKIALOCAL' } });

      const unknown = await fetch(`${cloud.endpoint}/lambda-url/no-such-function/`);
      expect(unknown.status).toBe(404);
      expect(cloud.requests.get('lambda.InvokeFunctionUrl')).toBeGreaterThan(0);
    });
  });
});

describe('the local cloud with handlers on worker threads', () => {
  let world: TestCloud;
  let cloud: LocalCloud;

  beforeAll(async () => {
    world = await startTestCloud({ extend: addWebhookStack, lambdaWorkers: 2 });
    cloud = world.cloud;
  });

  afterAll(async () => {
    await world?.stop();
  });

  it('serves the function URL from a worker, whose handler reads the secret over HTTP', async () => {
    const url = cloud.functionUrl('ProbeWebhook');
    const key = cloud.secrets.value('ProbeWebhookSecret');
    const body = '{"status":"IN_TRANSIT"}';
    const verified = await fetch(new URL('verify', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-handoff-signature': sign(key, body) },
      body,
    });
    expect(verified.status).toBe(202);
    // Worker threads have no in-process shortcut: their Secrets Manager call reached the endpoint's socket.
    expect(cloud.requests.get('secretsmanager.GetSecretValue')).toBeGreaterThanOrEqual(1);
    expect(cloud.meter.count('Secrets Manager')).toBeGreaterThanOrEqual(1);

    const failed = await fetch(new URL('throw', url));
    expect([failed.status, await failed.text()]).toEqual([502, '{"Message":"Internal Server Error"}']);
    const binary = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    const echoed = await fetch(new URL('echo', url), { method: 'POST', body: binary });
    const event = (await echoed.json()) as LambdaFunctionURLEvent;
    expect([event.isBase64Encoded, event.body]).toEqual([true, binary.toString('base64')]);
  });
});
