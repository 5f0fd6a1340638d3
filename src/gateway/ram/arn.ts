/**
 * Alibaba Cloud Resource Names, as RAM policies and the API reference's authorization tables
 * write them: `acs:<product>:<region>:<account>:<resourceType>/<id>`, for example
 * `acs:nlb:cn-hangzhou:1234567890123456:loadbalancer/nlb-83ckzc8d4xlp8o2b1c`.
 */

/**
 * The resource of an action that cannot be authorized per resource ("All Resources" in the
 * reference's tables). Only a statement with `"Resource": "*"` grants it, as in RAM.
 */
export const ALL_RESOURCES = '*';

export function arn(product: string, region: string, account: string, resourceType: string, id: string): string {
  return `acs:${product}:${region}:${account}:${resourceType}/${id}`;
}
