// The small builders the JSON Schemas of the scenario and of the benchmark are written with. One
// definition each keeps every closed object and every bounded number of those schemas alike, and
// lets each schema read as its fields.

export const int = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum });
export const strictObject = (properties: Record<string, unknown>, required: string[]) => ({
  type: 'object',
  additionalProperties: false,
  required,
  properties,
});

/** A count of things, and a measured figure: neither is ever negative. */
export const count = { type: 'integer', minimum: 0 };
export const figure = { type: 'number', minimum: 0 };

/** The fields every result file of the tool opens with: who wrote it, which kind it is, on what. */
export function resultEnvelope<K extends string>(kind: K) {
  return { tool: { const: 'deliverycheck' }, kind: { const: kind }, version: { type: 'string' }, node: { type: 'string' } } as const;
}
