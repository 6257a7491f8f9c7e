import { FaultEngine } from './faults';

describe('fault rules by region', () => {
  it('a rule with a region affects only calls of that region (AWS region, GCP location, Azure vault host)', () => {
    const f = new FaultEngine();
    f.add({ cloud: 'aws', region: 'us-east-1', kind: 'error' });
    expect(f.decide({ cloud: 'aws', operation: 'Decrypt', region: 'us-east-1' }).fault).toBe('error');
    expect(f.decide({ cloud: 'aws', operation: 'Decrypt', region: 'US-EAST-1' }).fault).toBe('error');
    expect(f.decide({ cloud: 'aws', operation: 'Decrypt', region: 'eu-west-1' }).fault).toBeNull();
    expect(f.decide({ cloud: 'aws', operation: 'Decrypt' }).fault).toBeNull();
  });

  it('refuses an empty region', () => {
    expect(() => new FaultEngine().add({ kind: 'error', region: '' })).toThrow(/region/);
  });
});
