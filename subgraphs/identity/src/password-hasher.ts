/**
 * Password hashing with argon2id (@node-rs/argon2, native, off the event loop). Parameters follow
 * the OWASP recommendation (19 MiB, 2 passes, 1 lane); they are encoded in each PHC hash string,
 * so raising them later keeps old hashes verifiable.
 */
import { hash, verify, type Algorithm, type Options } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';

// `Algorithm` is a const enum in the typings; its value is spelled out because erasable syntax
// cannot inline it. 2 = Argon2id.
const argon2id = 2 as Algorithm;

export const defaultArgon2Options: Readonly<Options> = {
  algorithm: argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
};

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(passwordHash: string, password: string): Promise<boolean>;
  /**
   * Spends the same work as `verify` against a hash of a random password and returns false. Used
   * when the email is unknown so that response time does not reveal whether an account exists.
   */
  verifyDummy(password: string): Promise<false>;
}

export function createArgon2Hasher(options: Readonly<Options> = defaultArgon2Options): PasswordHasher {
  let dummyHash: Promise<string> | undefined;
  const hasher: PasswordHasher = {
    hash: (password) => hash(password, options),
    verify: async (passwordHash, password) => {
      try {
        return await verify(passwordHash, password);
      } catch {
        // A malformed stored hash must not sign anyone in (nor crash the request with a 500 that
        // differs from a wrong password).
        return false;
      }
    },
    verifyDummy: async (password) => {
      dummyHash ??= hash(randomBytes(24).toString('base64url'), options);
      await hasher.verify(await dummyHash, password);
      return false;
    },
  };
  return hasher;
}
