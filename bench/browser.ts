export async function runBrowserBench() { return { markdown: 'todo', goals: [] }; }
