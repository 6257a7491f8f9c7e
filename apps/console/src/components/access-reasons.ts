import type { AccessReason } from '../api/types';

/** Each reason in words (the API's names are SCREAMING_SNAKE). `NONE` is a request that gave no reason. */
export const REASON_LABELS: Record<string, string> = {
  NONE: 'No reason given',
  CUSTOMER_INITIATED: 'Customer initiated',
  SCHEDULED_JOB: 'Scheduled job',
  BACKUP: 'Backup',
  MIGRATION: 'Migration',
  VENDOR_SUPPORT: "Vendor's support staff",
  EMERGENCY: 'Emergency (break glass)',
};

/** What each reason is for, shown beside its checkbox. */
export const REASON_HELP: Record<AccessReason, string> = {
  CUSTOMER_INITIATED: 'a request a customer user made',
  SCHEDULED_JOB: 'batch work the service runs on its own',
  BACKUP: 'backups and restores',
  MIGRATION: 'moving data between systems',
  VENDOR_SUPPORT: "the vendor's support staff looking at customer data",
  EMERGENCY: 'break-glass access during an incident',
};
