// Stock JavaScript clients against a JSON-RPC URL: ethers 6 and viem 2, unchanged.
// usage: node stock_js_clients.mjs RPC_URL PRIVATE_KEY RECIPIENT
// Prints one JSON object of what each client saw; any client error exits non-zero.
import { ethers } from "ethers";
import { createPublicClient, createWalletClient, defineChain, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";

const [url, key, recipient] = process.argv.slice(2);
const out = {};

// ethers: JsonRpcProvider + Wallet.sendTransaction back to back (ethers sends the nonce in
// eth_estimateGas), then the receipts, a block and the fee data. The NonceManager is how
// ethers sends back to back: the provider caches eth_getTransactionCount for 250 ms, so two
// bare Wallet sends within that time pick the same nonce against any node, anvil included.
const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true, polling: true, pollingInterval: 50 });
const wallet = new ethers.NonceManager(new ethers.Wallet(key, provider));
const first = await wallet.sendTransaction({ to: recipient, value: 1n });
const second = await wallet.sendTransaction({ to: recipient, value: 2n });
const receipts = [await first.wait(), await second.wait()];
out.ethers = {
  nonces: [first.nonce, second.nonce],
  statuses: receipts.map((r) => r.status),
  blooms: receipts.map((r) => r.logsBloom.length),
  fee: (await provider.getFeeData()).maxFeePerGas > 0n,
  block: (await provider.getBlock("latest")).number,
  chainId: Number((await provider.getNetwork()).chainId),
};

// viem: fee history with percentiles, a block, a transaction and waitForTransactionReceipt,
// and a block filter polled for its changes.
const client = createPublicClient({ transport: http(url) });
const chainId = await client.getChainId();
const chain = defineChain({
  id: chainId,
  name: "og-chat devnet",
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [url] } },
});
const head = Number(await client.getBlockNumber({ cacheTime: 0 }));
const history = await client.getFeeHistory({ blockCount: 3, rewardPercentiles: [25, 75] });
const filter = await client.createBlockFilter();
const walletClient = createWalletClient({ account: privateKeyToAccount(key), chain, transport: http(url) });
const hash = await walletClient.sendTransaction({ to: recipient, value: 3n });
const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
const block = await client.getBlock({ blockNumber: receipt.blockNumber });
const changes = await client.getFilterChanges({ filter });
out.viem = {
  chainId,
  head,
  history: {
    oldestBlock: Number(history.oldestBlock),
    baseFees: history.baseFeePerGas.length,
    ratios: history.gasUsedRatio.length,
    rewards: history.reward.map((r) => r.length),
  },
  receiptStatus: receipt.status,
  receiptBloom: receipt.logsBloom.length,
  blockHasTx: block.transactions.includes(hash),
  blockBloom: block.logsBloom.length,
  filterSawBlock: changes.includes(block.hash),
};
console.log(JSON.stringify(out));
