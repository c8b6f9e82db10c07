import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  corsPreflight,
  type FunctionUrlRequest,
  functionUrlEvent,
  functionUrlResponse,
  functionUrlsOf,
  isSignedForLambda,
  isTextContentType,
  type LocalFunctionUrl,
  withCors,
} from '../../../local/endpoint/function-urls.ts';
import { generatePassword, PASSWORD_CHARACTERS } from '../../../local/secrets/password.ts';
import { SecretStore } from '../../../local/secrets/secret-store.ts';
import { secretsManagerApi } from '../../../local/secrets/secrets-manager-api.ts';
import { CloudModel, UnsupportedTemplateFeature } from '../../../local/template/model.ts';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A hand-made cloud assembly with one stack, loaded with function URLs on port 4599. */
function assembly(resources: Resources, stack = 'Hooks'): CloudModel {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-secrets-'));
  dirs.push(dir);
  writeFileSync(join(dir, `${stack}.template.json`), JSON.stringify({ Resources: resources }));
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      version: '40.0.0',
      artifacts: {
        [stack]: { type: 'aws:cloudformation:stack', properties: { templateFile: `${stack}.template.json` } },
      },
    }),
  );
  return new CloudModel(dir, {
    sqsQueueUrl: (name) => `http://sqs.test/q/${name}`,
    functionUrl: (name) => `http://127.0.0.1:4599/lambda-url/${name}/`,
  });
}

const resource = (model: CloudModel, id: string) => model.get('Hooks', id);

const ARN_PREFIX = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:';

const SECRETS: Resources = {
  WebhookSecretEDDB6198: {
    Type: 'AWS::SecretsManager::Secret',
    Properties: {
      GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true },
      KmsKeyId: { 'Fn::GetAtt': ['DataKey', 'Arn'] },
      Description: 'carrier webhook key',
    },
  },
  DataKey: { Type: 'AWS::KMS::Key' },
  Credentials: {
    Type: 'AWS::SecretsManager::Secret',
    Properties: {
      GenerateSecretString: {
        SecretStringTemplate: '{"username":"carrier"}',
        GenerateStringKey: 'password',
        ExcludeCharacters: 'abcxyz"\\',
        PasswordLength: '20',
      },
    },
  },
  Named: {
    Type: 'AWS::SecretsManager::Secret',
    Properties: { Name: 'partners/tms', SecretString: 's3cr3t' },
  },
  Empty: { Type: 'AWS::SecretsManager::Secret', Properties: { Name: 'empty' } },
  Defaults: { Type: 'AWS::SecretsManager::Secret', Properties: { GenerateSecretString: {} } },
};

describe('generatePassword', () => {
  it('draws 32 characters from letters, digits and punctuation, one of each at least, no space', () => {
    for (let i = 0; i < 50; i++) {
      const password = generatePassword();
      expect(password).toHaveLength(32);
      expect(password).toMatch(/[a-z]/);
      expect(password).toMatch(/[A-Z]/);
      expect(password).toMatch(/[0-9]/);
      expect([...password].some((c) => PASSWORD_CHARACTERS.punctuation.includes(c))).toBe(true);
      expect(password).not.toContain(' ');
    }
  });

  it('honours PasswordLength, ExcludePunctuation, ExcludeCharacters, the Exclude* types and IncludeSpace', () => {
    expect(generatePassword({ PasswordLength: 48, ExcludePunctuation: true })).toMatch(/^[A-Za-z0-9]{48}$/);
    const excluded = generatePassword({ PasswordLength: 200, ExcludeCharacters: 'aeiouAEIOU0!@' });
    expect(excluded).toHaveLength(200);
    expect(excluded).not.toMatch(/[aeiouAEIOU0!@]/);
    expect(
      generatePassword({
        PasswordLength: 64,
        ExcludeLowercase: true,
        ExcludeUppercase: true,
        ExcludePunctuation: true,
      }),
    ).toMatch(/^[0-9]{64}$/);
    // With RequireEachIncludedType (the default) even a short password has its space.
    for (let i = 0; i < 20; i++)
      expect(generatePassword({ PasswordLength: 5, IncludeSpace: true })).toContain(' ');
    expect(generatePassword({ PasswordLength: 1, RequireEachIncludedType: false })).toHaveLength(1);
  });

  it('refuses options no password can satisfy', () => {
    expect(() => generatePassword({ PasswordLength: 0 })).toThrow(/PasswordLength/);
    expect(() => generatePassword({ PasswordLength: 3 })).toThrow(/one character of each/);
    expect(() =>
      generatePassword({
        ExcludeLowercase: true,
        ExcludeUppercase: true,
        ExcludeNumbers: true,
        ExcludePunctuation: true,
      }),
    ).toThrow(/every character/);
  });
});

describe('secrets in the template model', () => {
  it('resolves Ref and Fn::GetAtt Id of a secret to its ARN with a 6-character random suffix, stable per run', () => {
    const model = assembly(SECRETS);
    const arn = model.ref(resource(model, 'WebhookSecretEDDB6198'));
    expect(arn).toMatch(new RegExp(`^${ARN_PREFIX}Hooks-WebhookSecretEDDB6198-[A-Za-z0-9]{6}$`));
    expect(model.resolve('Hooks', { Ref: 'WebhookSecretEDDB6198' })).toBe(arn);
    expect(model.resolve('Hooks', { 'Fn::GetAtt': ['WebhookSecretEDDB6198', 'Id'] })).toBe(arn);
    expect(model.findByArn(arn)?.logicalId).toBe('WebhookSecretEDDB6198');
    expect(model.ref(resource(model, 'Named'))).toMatch(
      new RegExp(`^${ARN_PREFIX}partners/tms-[A-Za-z0-9]{6}$`),
    );
    // A new model (a restart) draws new suffixes, as a redeployed secret gets a new ARN.
    const suffixes = new Set(
      Array.from({ length: 5 }, () => {
        const restarted = assembly(SECRETS);
        return restarted.arn(resource(restarted, 'Named')).slice(-6);
      }),
    );
    expect(suffixes.size).toBeGreaterThan(1);
  });

  it('resolves {{resolve:secretsmanager:…}} dynamic references once a resolver is wired', () => {
    const model = assembly(SECRETS);
    const store = new SecretStore(model);
    const reference = {
      'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: 'Credentials' }, ':SecretString:username::}}']],
    };
    expect(model.resolve('Hooks', '{{resolve:secretsmanager:partners/tms}}')).toBe(
      '{{resolve:secretsmanager:partners/tms}}',
    );
    model.secretReference = (ref) => store.resolveReference(ref);
    expect(model.resolve('Hooks', 'key={{resolve:secretsmanager:partners/tms:SecretString:::}}')).toBe(
      'key=s3cr3t',
    );
    expect(model.resolve('Hooks', reference)).toBe('carrier');
    expect(() => model.resolve('Hooks', '{{resolve:secretsmanager:nope}}')).toThrow(
      UnsupportedTemplateFeature,
    );
  });
});

describe('SecretStore', () => {
  it('generates each value at start-up as CloudFormation would, or keeps SecretString', () => {
    const store = new SecretStore(assembly(SECRETS));
    expect(store.value('WebhookSecret')).toMatch(/^[A-Za-z0-9]{48}$/);
    const credentials = JSON.parse(store.value('Credentials')) as Record<string, string>;
    expect(credentials.username).toBe('carrier');
    expect(credentials.password).toHaveLength(20);
    expect(credentials.password).not.toMatch(/[abcxyz"\\ ]/);
    expect(store.value('Credentials', 'username')).toBe('carrier');
    expect(store.value('partners/tms')).toBe('s3cr3t');
    expect(store.value('Defaults')).toHaveLength(32);
    // Neither SecretString nor GenerateSecretString: a secret without a value.
    expect(() => store.value('empty')).toThrow(/staging label: AWSCURRENT/);
    const secret = store.lookup('WebhookSecret');
    expect(secret.kmsKeyId).toMatch(/^arn:aws:kms:us-east-1:000000000000:key\//);
    expect(secret.description).toBe('carrier webhook key');
  });

  it('finds a secret by ARN, partial ARN, name, logical id or logical id prefix', () => {
    const store = new SecretStore(assembly(SECRETS));
    const arn = store.arn('WebhookSecretEDDB6198');
    for (const id of [arn, arn.slice(0, -7), 'Hooks-WebhookSecretEDDB6198', 'WebhookSecret'])
      expect(store.lookup(id).arn).toBe(arn);
    expect(store.find('WebhookSecret')).toBeUndefined();
    expect(store.find(`${arn.slice(0, -6)}XXXXXX`)).toBeUndefined();
    expect(() => store.lookup('Nope')).toThrow(
      expect.objectContaining({ name: 'ResourceNotFoundException' }),
    );
    const twins = new SecretStore(
      assembly({
        HookSecretA: { Type: 'AWS::SecretsManager::Secret', Properties: { SecretString: 'a' } },
        HookSecretB: { Type: 'AWS::SecretsManager::Secret', Properties: { SecretString: 'b' } },
      }),
    );
    expect(() => twins.lookup('HookSecret')).toThrow(/names 2 secrets/);
    expect(twins.value('HookSecretB')).toBe('b');
  });

  it('refuses templates CloudFormation would refuse', () => {
    expect(
      () =>
        new SecretStore(
          assembly({
            Both: {
              Type: 'AWS::SecretsManager::Secret',
              Properties: { SecretString: 'x', GenerateSecretString: {} },
            },
          }),
        ),
    ).toThrow(UnsupportedTemplateFeature);
    expect(
      () =>
        new SecretStore(
          assembly({
            KeyOnly: {
              Type: 'AWS::SecretsManager::Secret',
              Properties: { GenerateSecretString: { GenerateStringKey: 'password' } },
            },
          }),
        ),
    ).toThrow(/SecretStringTemplate/);
  });

  it('moves AWSCURRENT to a put value and AWSPREVIOUS to the old one; a repeated token is idempotent', () => {
    const store = new SecretStore(assembly(SECRETS));
    const changes: string[] = [];
    store.onChange = (secret, version) => changes.push(`${secret.name}=${version.secretString}`);
    const first = store.put('partners/tms', 'two', { clientRequestToken: 'token-2' });
    expect(store.put('partners/tms', 'two', { clientRequestToken: 'token-2' })).toBe(first);
    expect(() => store.put('partners/tms', 'other', { clientRequestToken: 'token-2' })).toThrow(
      expect.objectContaining({ name: 'ResourceExistsException' }),
    );
    store.put('partners/tms', 'three');
    const secret = store.lookup('partners/tms');
    expect(secret.versions.map((v) => [v.secretString, v.stages])).toEqual([
      ['two', ['AWSPREVIOUS']],
      ['three', ['AWSCURRENT']],
    ]);
    expect(store.value('partners/tms')).toBe('three');
    expect(changes).toEqual(['partners/tms=two', 'partners/tms=three']);
    store.put('partners/tms', 'staged', { versionStages: ['AWSPENDING'] });
    expect(store.value('partners/tms')).toBe('three');
    expect(store.version(secret, { versionStage: 'AWSPENDING' }).secretString).toBe('staged');
  });
});

describe('the Secrets Manager API', () => {
  const api = (store: SecretStore, operation: string, input: Record<string, unknown>) =>
    secretsManagerApi(store, operation, input) as Record<string, unknown>;

  it('GetSecretValue answers by ARN, partial ARN and name with the current version', () => {
    const store = new SecretStore(assembly(SECRETS));
    const arn = store.arn('WebhookSecret');
    const byArn = api(store, 'GetSecretValue', { SecretId: arn });
    expect(byArn).toMatchObject({
      ARN: arn,
      Name: 'Hooks-WebhookSecretEDDB6198',
      SecretString: store.value(arn),
      VersionStages: ['AWSCURRENT'],
    });
    expect(typeof byArn.CreatedDate).toBe('number');
    expect(api(store, 'GetSecretValue', { SecretId: arn.slice(0, -7) }).ARN).toBe(arn);
    expect(api(store, 'GetSecretValue', { SecretId: 'Hooks-WebhookSecretEDDB6198' }).ARN).toBe(arn);
    expect(store.lookup(arn).lastAccessedAt).toBeInstanceOf(Date);
  });

  it('answers unknown ids, versions and operations with typed errors', () => {
    const store = new SecretStore(assembly(SECRETS));
    expect(() => api(store, 'GetSecretValue', { SecretId: 'WebhookSecret' })).toThrow(
      expect.objectContaining({ name: 'ResourceNotFoundException' }),
    );
    expect(() => api(store, 'GetSecretValue', { SecretId: 'partners/tms', VersionId: 'nope' })).toThrow(
      expect.objectContaining({
        name: 'ResourceNotFoundException',
        message: expect.stringContaining('VersionId'),
      }),
    );
    expect(() => api(store, 'GetSecretValue', {})).toThrow(
      expect.objectContaining({ name: 'InvalidParameterException' }),
    );
    expect(() => api(store, 'DeleteSecret', { SecretId: 'partners/tms' })).toThrow(
      expect.objectContaining({ name: 'UnknownOperationException' }),
    );
  });

  it('PutSecretValue stores strings and binaries; DescribeSecret and ListSecretVersionIds show the stages', () => {
    const store = new SecretStore(assembly(SECRETS));
    const put = api(store, 'PutSecretValue', { SecretId: 'partners/tms', SecretString: 'rotated' });
    expect(put).toMatchObject({ Name: 'partners/tms', VersionStages: ['AWSCURRENT'] });
    expect(api(store, 'GetSecretValue', { SecretId: 'partners/tms' }).SecretString).toBe('rotated');
    expect(
      api(store, 'GetSecretValue', { SecretId: 'partners/tms', VersionStage: 'AWSPREVIOUS' }).SecretString,
    ).toBe('s3cr3t');
    const described = api(store, 'DescribeSecret', { SecretId: 'partners/tms' });
    expect(Object.values(described.VersionIdsToStages as object)).toEqual([['AWSPREVIOUS'], ['AWSCURRENT']]);
    expect(described).toMatchObject({ RotationEnabled: false, Tags: [] });
    const versions = api(store, 'ListSecretVersionIds', { SecretId: 'partners/tms' }).Versions as unknown[];
    expect(versions).toHaveLength(2);

    api(store, 'PutSecretValue', {
      SecretId: 'empty',
      SecretBinary: Buffer.from([1, 2, 3]).toString('base64'),
    });
    expect(api(store, 'GetSecretValue', { SecretId: 'empty' }).SecretBinary).toBe('AQID');
    expect(() => api(store, 'PutSecretValue', { SecretId: 'empty' })).toThrow(/SecretString or SecretBinary/);
  });

  it('ListSecrets filters by name prefix and pages; GetRandomPassword uses the same generator', () => {
    const store = new SecretStore(assembly(SECRETS));
    const names = (input: Record<string, unknown>) =>
      (api(store, 'ListSecrets', input).SecretList as { Name: string }[]).map((s) => s.Name);
    expect(names({}).sort()).toEqual(
      ['Hooks-Credentials', 'Hooks-Defaults', 'Hooks-WebhookSecretEDDB6198', 'empty', 'partners/tms'].sort(),
    );
    expect(names({ Filters: [{ Key: 'name', Values: ['partners/'] }] })).toEqual(['partners/tms']);
    expect(names({ Filters: [{ Key: 'description', Values: ['carrier'] }] })).toEqual([
      'Hooks-WebhookSecretEDDB6198',
    ]);
    const page = api(store, 'ListSecrets', { MaxResults: 2 });
    expect(page.SecretList).toHaveLength(2);
    expect(names({ MaxResults: 2, NextToken: page.NextToken })).toHaveLength(2);
    const password = api(store, 'GetRandomPassword', { PasswordLength: 12, ExcludePunctuation: true });
    expect(password.RandomPassword).toMatch(/^[A-Za-z0-9]{12}$/);
  });
});

const URL_TEMPLATE: Resources = {
  HookB39E2767: {
    Type: 'AWS::Lambda::Function',
    Properties: { Handler: 'index.handler', Environment: { Variables: {} } },
  },
  HookFunctionUrl0244529D: {
    Type: 'AWS::Lambda::Url',
    Properties: { AuthType: 'NONE', TargetFunctionArn: { 'Fn::GetAtt': ['HookB39E2767', 'Arn'] } },
  },
  HookinvokefunctionurlD66C8B7D: {
    Type: 'AWS::Lambda::Permission',
    Properties: {
      Action: 'lambda:InvokeFunctionUrl',
      FunctionName: { 'Fn::GetAtt': ['HookB39E2767', 'Arn'] },
      FunctionUrlAuthType: 'NONE',
      Principal: '*',
    },
  },
  HookinvokefunctionC2584DC1: {
    Type: 'AWS::Lambda::Permission',
    Properties: {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': ['HookB39E2767', 'Arn'] },
      InvokedViaFunctionUrl: true,
      Principal: '*',
    },
  },
  Private: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'private-fn' } },
  PrivateUrl: {
    Type: 'AWS::Lambda::Url',
    Properties: {
      AuthType: 'AWS_IAM',
      TargetFunctionArn: 'private-fn',
      Cors: { AllowOrigins: ['https://carrier.example'], AllowMethods: ['POST'], MaxAge: 300 },
    },
  },
};

describe('function URLs in the template model', () => {
  it('resolves FunctionUrl, FunctionArn, UrlId and Ref of an AWS::Lambda::Url', () => {
    const model = assembly(URL_TEMPLATE);
    const url = resource(model, 'HookFunctionUrl0244529D');
    const fnArn = 'arn:aws:lambda:us-east-1:000000000000:function:Hooks-HookB39E2767';
    expect(model.resolve('Hooks', { 'Fn::GetAtt': ['HookFunctionUrl0244529D', 'FunctionUrl'] })).toBe(
      'http://127.0.0.1:4599/lambda-url/Hooks-HookB39E2767/',
    );
    expect(model.getAtt(url, 'FunctionArn')).toBe(fnArn);
    expect(model.ref(url)).toBe(fnArn);
    const urlId = model.getAtt(url, 'UrlId');
    expect(urlId).toMatch(/^[a-z0-9]{32}$/);
    expect(assembly(URL_TEMPLATE).getAtt(url, 'UrlId')).toBe(urlId);
    expect(model.getAtt(resource(model, 'PrivateUrl'), 'FunctionUrl')).toBe(
      'http://127.0.0.1:4599/lambda-url/private-fn/',
    );
    expect(() => model.getAtt(url, 'Nope')).toThrow(UnsupportedTemplateFeature);
  });

  it('lists each URL with its function, auth type and whether the public policy allows it', () => {
    const urls = functionUrlsOf(assembly(URL_TEMPLATE));
    expect(urls.map((u) => [u.functionName, u.functionLogicalId, u.authType, u.publicAccess])).toEqual([
      ['Hooks-HookB39E2767', 'HookB39E2767', 'NONE', true],
      ['private-fn', 'Private', 'AWS_IAM', false],
    ]);
    const { HookinvokefunctionC2584DC1: _, ...withoutInvoke } = URL_TEMPLATE;
    expect(functionUrlsOf(assembly(withoutInvoke))[0]?.publicAccess).toBe(false);
  });

  it('refuses what the local cloud does not run: aliases and response streaming', () => {
    const url = (properties: Record<string, unknown>) =>
      assembly({
        Fn: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'fn' } },
        Url: {
          Type: 'AWS::Lambda::Url',
          Properties: { AuthType: 'NONE', TargetFunctionArn: 'fn', ...properties },
        },
      });
    expect(() => functionUrlsOf(url({ Qualifier: 'live' }))).toThrow(/Qualifier/);
    expect(() => functionUrlsOf(url({ InvokeMode: 'RESPONSE_STREAM' }))).toThrow(/RESPONSE_STREAM/);
    expect(functionUrlsOf(url({ InvokeMode: 'BUFFERED' }))).toHaveLength(1);
  });
});

describe('function URL events and responses', () => {
  const url = functionUrlsOf(assembly(URL_TEMPLATE))[0] as LocalFunctionUrl;
  const at = new Date('2026-03-12T19:03:58.390Z');
  const event = (request: Partial<FunctionUrlRequest>) =>
    functionUrlEvent(
      url,
      {
        method: 'POST',
        rawPath: '/carrier/events',
        rawQueryString: '',
        headers: {},
        body: Buffer.alloc(0),
        sourceIp: '10.0.0.9',
        protocol: 'HTTP/1.1',
        ...request,
      },
      {
        requestId: '0f0e0d0c-0b0a-4909-8807-060504030201',
        now: at,
        account: '000000000000',
        region: 'us-east-1',
        port: 4599,
      },
    );

  it('builds the payload format 2.0 event Lambda delivers', () => {
    const body = Buffer.from('{"n":"\u00e9"}');
    const e = event({
      rawQueryString: 'a=1&a=2&b=x%2By',
      headers: {
        'content-type': ['application/json'],
        'x-carrier': ['one', 'two'],
        cookie: ['a=1; b=2'],
        'user-agent': ['tms/2'],
      },
      body,
    });
    expect(e).toEqual({
      version: '2.0',
      routeKey: '$default',
      rawPath: '/carrier/events',
      rawQueryString: 'a=1&a=2&b=x%2By',
      cookies: ['a=1', 'b=2'],
      headers: {
        'content-type': 'application/json',
        'x-carrier': 'one,two',
        'user-agent': 'tms/2',
        'x-forwarded-for': '10.0.0.9',
        'x-forwarded-proto': 'http',
        'x-forwarded-port': '4599',
        'x-amzn-trace-id': expect.stringMatching(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/),
      },
      queryStringParameters: { a: '1,2', b: 'x+y' },
      requestContext: {
        accountId: 'anonymous',
        apiId: url.urlId,
        domainName: `${url.urlId}.lambda-url.us-east-1.on.aws`,
        domainPrefix: url.urlId,
        http: {
          method: 'POST',
          path: '/carrier/events',
          protocol: 'HTTP/1.1',
          sourceIp: '10.0.0.9',
          userAgent: 'tms/2',
        },
        requestId: '0f0e0d0c-0b0a-4909-8807-060504030201',
        routeKey: '$default',
        stage: '$default',
        time: '12/Mar/2026:19:03:58 +0000',
        timeEpoch: at.getTime(),
      },
      body: '{"n":"\u00e9"}',
      isBase64Encoded: false,
    });
    expect(Buffer.from(e.body ?? '', 'utf8').equals(body)).toBe(true);
  });

  it('base64-encodes every body whose content type is not text, as AWS does', () => {
    expect(
      ['text/plain', 'Application/JSON; charset=utf-8', 'application/xml', 'application/javascript'].map(
        isTextContentType,
      ),
    ).toEqual([true, true, true, true]);
    expect(
      [undefined, 'application/octet-stream', 'application/x-www-form-urlencoded', 'image/png'].map(
        isTextContentType,
      ),
    ).toEqual([false, false, false, false]);
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x41]);
    const e = event({ headers: { 'content-type': ['application/x-www-form-urlencoded'] }, body: bytes });
    expect(e.isBase64Encoded).toBe(true);
    expect(Buffer.from(e.body ?? '', 'base64').equals(bytes)).toBe(true);
    const bare = event({ method: 'GET' });
    expect('body' in bare).toBe(false);
    expect(bare.isBase64Encoded).toBe(false);
    expect(bare.queryStringParameters).toBeUndefined();
    expect(bare.cookies).toBeUndefined();
  });

  it('maps a structured result as given, any other result to a JSON 200', () => {
    const structured = functionUrlResponse({
      statusCode: 201,
      headers: { 'Content-Type': 'text/plain', 'X-Count': 2 },
      cookies: ['a=1; Max-Age=5', 'b=2'],
      body: 'made',
    });
    expect(structured).toEqual({
      status: 201,
      headers: { 'content-type': 'text/plain', 'x-count': '2', 'set-cookie': ['a=1; Max-Age=5', 'b=2'] },
      body: Buffer.from('made'),
    });
    const binary = functionUrlResponse({
      statusCode: 200,
      body: Buffer.from([1, 255]).toString('base64'),
      isBase64Encoded: true,
    });
    expect(binary.body).toEqual(Buffer.from([1, 255]));
    expect(functionUrlResponse({ statusCode: 204 })).toEqual({
      status: 204,
      headers: {},
      body: Buffer.alloc(0),
    });
    for (const [result, text] of [
      [{ message: 'hi', body: 'not a response' }, '{"message":"hi","body":"not a response"}'],
      ['Hello, world!', '"Hello, world!"'],
      [[1, 2], '[1,2]'],
      [42, '42'],
      [undefined, 'null'],
    ] as const) {
      const reply = functionUrlResponse(result);
      expect([reply.status, reply.headers['content-type'], reply.body.toString()]).toEqual([
        200,
        'application/json',
        text,
      ]);
    }
    expect(functionUrlResponse({ statusCode: 'teapot' }).status).toBe(502);
  });

  it('answers CORS preflights and decorates responses from the URL settings', () => {
    const cors = {
      AllowOrigins: ['https://carrier.example'],
      AllowMethods: ['POST'],
      AllowHeaders: ['x-sig'],
      MaxAge: 300,
    };
    const preflight = corsPreflight(cors, 'OPTIONS', {
      origin: ['https://carrier.example'],
      'access-control-request-method': ['POST'],
    });
    expect(preflight?.headers).toMatchObject({
      'access-control-allow-origin': 'https://carrier.example',
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': 'x-sig',
      'access-control-max-age': '300',
    });
    expect(
      corsPreflight(undefined, 'OPTIONS', { origin: ['x'], 'access-control-request-method': ['POST'] }),
    ).toBeUndefined();
    expect(corsPreflight(cors, 'OPTIONS', { origin: ['https://carrier.example'] })).toBeUndefined();
    const reply = withCors(
      cors,
      { origin: ['https://evil.example'] },
      {
        status: 200,
        headers: { 'access-control-allow-origin': '*', 'content-type': 'text/plain' },
        body: Buffer.alloc(0),
      },
    );
    expect(reply.headers).toEqual({ 'content-type': 'text/plain' });
    const wildcard = withCors({ AllowOrigins: ['*'] }, { origin: ['https://any.example'] }, reply);
    expect(wildcard.headers['access-control-allow-origin']).toBe('*');
  });

  it('recognises a SigV4 signature for Lambda, in the header or the query string', () => {
    const scope = 'AKIDLOCAL/20260101/us-east-1/lambda/aws4_request';
    expect(
      isSignedForLambda({ authorization: [`AWS4-HMAC-SHA256 Credential=${scope}, Signature=0`] }, ''),
    ).toBe(true);
    expect(
      isSignedForLambda(
        {
          authorization: ['AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, Signature=0'],
        },
        '',
      ),
    ).toBe(false);
    expect(
      isSignedForLambda(
        {},
        `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${encodeURIComponent(scope)}&X-Amz-Signature=0`,
      ),
    ).toBe(true);
    expect(isSignedForLambda({ authorization: ['Bearer token'] }, '')).toBe(false);
  });
});
