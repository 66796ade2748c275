type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Every subsegment of the documents (nested ones included), depth first, each with its parent's id. */
export function subsegmentsOf(docs: readonly Doc[]): (Doc & { parentId: string })[] {
  const out: (Doc & { parentId: string })[] = [];
  const walk = (entity: Doc): void => {
    for (const sub of (entity.subsegments as Doc[] | undefined) ?? []) {
      out.push({ ...sub, parentId: entity.id });
      walk(sub);
    }
  };
  for (const doc of docs) walk(doc);
  return out;
}
