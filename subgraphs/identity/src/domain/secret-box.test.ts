import { describe, expect, it } from 'vitest';
import { createSecretBox } from './secret-box.ts';

describe('secret box', () => {
  it('round-trips, never repeats a ciphertext, and refuses tampering and other keys', () => {
    const box = createSecretBox('master-secret-master-secret-0123456789', 'totp-secrets');
    const a = box.seal('JBSWY3DPEHPK3PXP');
    expect(a).not.toContain('JBSWY3DPEHPK3PXP');
    expect(box.seal('JBSWY3DPEHPK3PXP')).not.toBe(a);
    expect(box.open(a)).toBe('JBSWY3DPEHPK3PXP');
    const parts = a.split('.');
    parts[3] = Buffer.from('XXXXXXXXXXXXXXXX').toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow();
    expect(() => createSecretBox('another-master-secret-0123456789', 'totp-secrets').open(a)).toThrow();
    expect(() =>
      createSecretBox('master-secret-master-secret-0123456789', 'other-purpose').open(a),
    ).toThrow();
  });
});
