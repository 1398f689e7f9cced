export async function runEnvelopeBench() { return { markdown: 'todo', goals: [] }; }
