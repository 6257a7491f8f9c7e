// Keep every SDK off the real network in tests: no instance-metadata lookups, no shared config files, no proxies.
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.METADATA_SERVER_DETECTION = 'none';
process.env.AWS_SDK_LOAD_CONFIG = '0';
delete process.env.AZURE_REGIONAL_AUTHORITY_NAME;
process.env.NO_PROXY = '*';
