// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title FlockToken
/// @notice A plain ERC-20 stake and reward token for local alliances; any ERC-20 works in production.
contract FlockToken is ERC20 {
    /// @param initialSupply Tokens (in wei units) minted to the deployer.
    constructor(uint256 initialSupply) ERC20("Flock Token", "FLOCK") {
        _mint(msg.sender, initialSupply);
    }
}
